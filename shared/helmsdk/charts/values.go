package charts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/mitchellh/copystructure"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/strvals"
)

// ValueSources are the user's values as Helm's flags give them.
type ValueSources struct {
	Files      []string
	Set        []string
	SetString  []string
	SetFile    []string
	SetJSON    []string
	SetLiteral []string
}

// Values are the user's values as the flags give them, each file read once (a URL or stdin
// read twice could differ between the deployed and the stored values): Merge makes the
// values of a deploy from them as often as needed.
type Values struct {
	src       ValueSources
	files     map[string]any
	providers getter.Providers
	// setFiles are the contents of the --set-file files, by path, once read.
	setFiles map[string]string
}

// LoadValues reads and parses the values files in order (later files win, maps merge, as in
// Helm); "-" is stdin, a URL is fetched with Helm's getters.
func LoadValues(src ValueSources) (*Values, error) {
	v := &Values{src: src, files: map[string]any{}, providers: getter.All(cli.New()), setFiles: map[string]string{}}
	for _, file := range src.Files {
		raw, err := readFileOrURL(file, v.providers)
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			// Helm's own errors for these say "open x", not which flag.
			err = pathErr.Err
		}
		if err != nil {
			return nil, fmt.Errorf("--values %s: %w", file, err)
		}
		parsed, err := ParseValuesYAML(raw)
		if err != nil {
			return nil, fmt.Errorf("--values %s: %s", file, strings.TrimPrefix(err.Error(), "error converting YAML to JSON: yaml: "))
		}
		v.files = MergeMaps(v.files, parsed)
	}
	return v, nil
}

// MergeValues is LoadValues and Merge for values needed once.
func MergeValues(src ValueSources, layers ...map[string]any) (map[string]any, error) {
	v, err := LoadValues(src)
	if err != nil {
		return nil, err
	}
	return v.Merge(layers...)
}

// Merge returns new values, lowest precedence first: the values files, then each of layers
// (for example decrypted secret values), then the --set family in Helm's order (--set-json,
// --set, --set-string, --set-file, --set-literal). Chart defaults are merged later, by the
// action. Nothing of v or layers is changed.
func (v *Values) Merge(layers ...map[string]any) (map[string]any, error) {
	base, err := copyValues(v.files)
	if err != nil {
		return nil, err
	}
	for _, layer := range layers {
		copied, err := copyValues(layer)
		if err != nil {
			return nil, err
		}
		base = MergeMaps(base, copied)
	}
	readFile := func(rs []rune) (any, error) {
		path := string(rs)
		if content, ok := v.setFiles[path]; ok {
			return content, nil
		}
		raw, err := readFileOrURL(path, v.providers)
		if err == nil {
			v.setFiles[path] = string(raw)
		}
		if errors.Is(err, errTooLarge) {
			// The item's value, this path, is elided from the error: name the file.
			err = fmt.Errorf("%s: %w", path, err)
		}
		return string(raw), err
	}
	src := v.src
	steps := []struct {
		flag    string
		items   []string
		parse   func(string) error
		literal bool
	}{
		{"--set-json", src.SetJSON, func(s string) error { return strvals.ParseJSON(s, base) }, false},
		{"--set", src.Set, func(s string) error { return strvals.ParseInto(s, base) }, false},
		{"--set-string", src.SetString, func(s string) error { return strvals.ParseIntoString(s, base) }, false},
		{"--set-file", src.SetFile, func(s string) error { return strvals.ParseIntoFile(s, base, readFile) }, false},
		{"--set-literal", src.SetLiteral, func(s string) error { return strvals.ParseLiteralInto(s, base) }, true},
	}
	for _, step := range steps {
		for _, item := range step.items {
			// Errors name the keys of the item, never its values (a password set by --set).
			named := withoutValues(item, step.literal)
			// Helm stores "=x" under the key "" without a word: a typo that sets nothing.
			if strings.HasPrefix(item, "=") || strings.Contains(item, ",=") {
				return nil, fmt.Errorf("%s %q: a key before = is empty: use KEY=VALUE", step.flag, named)
			}
			if err := step.parse(item); err != nil {
				return nil, fmt.Errorf("%s %q: %w", step.flag, named, err)
			}
		}
	}
	return base, nil
}

// elidedValue stands for a value in errors about a --set item.
const elidedValue = "..."

// withoutValues is a --set item with each value replaced by elidedValue, its keys kept:
// "db.password=x,oops" is "db.password=...,oops". A value runs to the next comma outside
// braces and brackets (Helm's lists and JSON); a literal item has one value, the rest.
func withoutValues(item string, literal bool) string {
	var b strings.Builder
	inValue, escaped, depth := false, false, 0
	for _, r := range item {
		if !inValue {
			b.WriteRune(r)
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '=':
				inValue, depth = true, 0
				b.WriteString(elidedValue)
			}
			continue
		}
		switch {
		case literal:
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '{' || r == '[':
			depth++
		case (r == '}' || r == ']') && depth > 0:
			depth--
		case r == ',' && depth == 0:
			inValue = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// copyValues copies values deeply, as Copy copies a chart's: --set parsing changes maps and
// lists in place.
func copyValues(m map[string]any) (map[string]any, error) {
	copied, err := copystructure.Copy(m)
	if err != nil {
		return nil, fmt.Errorf("copy values: %w", err)
	}
	out, _ := copied.(map[string]any)
	return out, nil
}

// MaxValuesFileSize caps each values file, values URL and --set-file file (stdin too): values
// are held in memory several times over (parsed, merged, stored in the release).
const MaxValuesFileSize = 64 << 20

// readFileOrURL reads a local file, stdin for "-", or a URL of a scheme Helm has a getter
// for, refusing more than MaxValuesFileSize bytes.
func readFileOrURL(path string, providers getter.Providers) ([]byte, error) {
	if strings.TrimSpace(path) == "-" {
		return readCapped(os.Stdin)
	}
	u, err := url.Parse(path)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return getCapped(path)
	}
	if err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		g, err := providers.ByScheme(u.Scheme)
		if err != nil {
			return nil, err
		}
		// Helm's getters of other schemes (oci://, plugins) read the whole body: the cap is
		// checked after it.
		buf, err := g.Get(path)
		if err != nil {
			return nil, err
		}
		if buf.Len() > MaxValuesFileSize {
			return nil, errTooLarge
		}
		return buf.Bytes(), nil
	}
	return ReadFileCapped(path)
}

// getCapped fetches an http(s) values URL as Helm's HTTP getter does without options (proxy
// from the environment, redirects followed), reading at most MaxValuesFileSize bytes of it: a larger
// body is refused while it streams, never held whole.
func getCapped(location string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server answered %s", resp.Status)
	}
	if resp.ContentLength > MaxValuesFileSize {
		return nil, errTooLarge
	}
	return readCapped(resp.Body)
}

// ReadFileCapped reads a local values file (secret values too), refusing more than
// MaxValuesFileSize bytes without reading them; errors are the os package's *fs.PathError or
// "larger than the N MiB allowed".
func ReadFileCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxValuesFileSize {
		return nil, errTooLarge
	}
	return readCapped(f)
}

var errTooLarge = fmt.Errorf("larger than the %d MiB allowed", MaxValuesFileSize>>20)

// readCapped reads r to its end, refusing more than MaxValuesFileSize bytes.
func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxValuesFileSize+1))
	if err == nil && len(data) > MaxValuesFileSize {
		return nil, errTooLarge
	}
	return data, err
}

// ParseValuesYAML parses a values document (as secret values are once decrypted).
func ParseValuesYAML(data []byte) (map[string]any, error) {
	out, err := chartutil.ReadValues(data)
	if err != nil {
		return nil, err
	}
	return out.AsMap(), nil
}

// MergeMaps deep-merges b into a copy of a: maps merge, everything else in b wins.
func MergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = MergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
