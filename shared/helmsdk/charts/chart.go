// Package charts loads charts through the Helm SDK: directories (symlinks followed only inside
// the project), archives, files from a git commit and registries; it resolves dependencies,
// merges values, completes Chart.yaml as werf does, and lints and packages. It is part of
// the Helm seam with its parent helmsdk: nothing outside helmsdk/... imports helm.sh/helm.
package charts

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

// Chart is a loaded chart, ready to render or deploy.
type Chart struct {
	chart *chart.Chart
}

// Helm is Helm's own chart, for the helmsdk package's actions (nothing else may reach into
// Helm's types: they change with the Helm 4 SDK).
func (c *Chart) Helm() *chart.Chart { return c.chart }

// FromHelm wraps a chart Helm loaded (from a stored release, say).
func FromHelm(ch *chart.Chart) *Chart { return &Chart{chart: ch} }

// LoadChart loads a chart from a directory (following symlinks only inside its project, see
// ReadChartDir) or a packaged archive.
func LoadChart(chartPath string) (*Chart, error) {
	info, err := os.Stat(chartPath)
	if err == nil && info.IsDir() {
		files, err := ReadChartDir(chartPath)
		if err != nil {
			return nil, err
		}
		return LoadChartFiles(chartPath, files)
	}
	ch, err := loader.Load(chartPath)
	if err != nil {
		return nil, chartLoadError(chartPath, err)
	}
	return &Chart{chart: ch}, nil
}

// helmLoadFileError is how Helm's loader reports a file it could not parse.
var helmLoadFileError = regexp.MustCompile(`^cannot load ([^:]+): (?:error converting YAML to JSON: )?(?:yaml: )?(.*)$`)

// chartLoadError names the chart file Helm could not parse by its path, as an editor would
// open it, rather than by Helm's "cannot load Chart.yaml".
func chartLoadError(chartPath string, err error) error {
	if m := helmLoadFileError.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s: %s", filepath.Join(chartPath, m[1]), m[2])
	}
	return fmt.Errorf("load chart %q: %w", chartPath, err)
}

// Name is the chart's name from Chart.yaml.
func (c *Chart) Name() string { return c.chart.Name() }

// Version is the chart's version from Chart.yaml.
func (c *Chart) Version() string { return c.chart.Metadata.Version }

// File returns a file of the chart (not of its dependencies) by its path in the chart.
func (c *Chart) File(name string) ([]byte, bool) {
	for _, f := range c.chart.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// FilesUnder returns the chart's files below dir, by path in the chart.
func (c *Chart) FilesUnder(dir string) map[string][]byte {
	out := map[string][]byte{}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for _, f := range c.chart.Files {
		if strings.HasPrefix(f.Name, prefix) {
			out[f.Name] = f.Data
		}
	}
	return out
}

// RemoveFiles drops the named files from the chart, so that they are neither packaged nor
// reachable through .Files in templates.
func (c *Chart) RemoveFiles(names map[string][]byte) {
	kept := c.chart.Files[:0]
	for _, f := range c.chart.Files {
		if _, drop := names[f.Name]; !drop {
			kept = append(kept, f)
		}
	}
	c.chart.Files = kept
}

// secretFileCall matches werf_secret_file calls, not the helper's name in a rewritten
// include "werf_secret_file" (so that rewriting twice changes nothing).
var secretFileCall = regexp.MustCompile(`(^|[^"\w])werf_secret_file\b`)

// SecretFileHelper is the template that werf_secret_file calls are rewritten to include.
const SecretFileHelper = "werf_secret_file"

// ProvideSecretFiles makes the werf template function `werf_secret_file "NAME"` return the
// plain content of secret/NAME in every template of the chart and its subcharts. Helm 3 takes
// no custom template functions, so each call is rewritten into `include "werf_secret_file"
// "NAME"` and a generated template holds the contents, base64-encoded.
func (c *Chart) ProvideSecretFiles(files map[string][]byte) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(`{{- define "` + SecretFileHelper + `" -}}` + "\n")
	for i, n := range names {
		keyword := "else if"
		if i == 0 {
			keyword = "if"
		}
		fmt.Fprintf(&b, "{{- %s eq . %q -}}{{ %q | b64dec }}\n", keyword, n, base64.StdEncoding.EncodeToString(files[n]))
	}
	missing := fmt.Sprintf(`{{- fail (printf "werf_secret_file: no file %%q under secret/; available: %s" .) -}}`, strings.Join(names, ", "))
	if len(names) > 0 {
		b.WriteString("{{- else -}}" + missing + "{{- end -}}\n")
	} else {
		b.WriteString(missing + "\n")
	}
	b.WriteString("{{- end -}}\n")
	rewriteTemplates(c.chart, b.String())
}

// StubSecretFiles makes werf_secret_file fail with message: for a chart whose secret files
// stay encrypted (a bundle), so that plain helm can still parse, lint and render it.
func (c *Chart) StubSecretFiles(message string) {
	body := `{{- define "` + SecretFileHelper + `" -}}{{- fail (printf "werf_secret_file %q: ` + strings.ReplaceAll(message, `"`, `'`) + `" .) -}}{{- end -}}` + "\n"
	rewriteTemplates(c.chart, body)
}

// SecretFileHelperTemplate is the generated template that holds the secret files' contents
// (the release storage keeps a stub in its place).
const SecretFileHelperTemplate = "templates/_werf_secret_file.tpl"

func rewriteTemplates(ch *chart.Chart, helper string) {
	kept := ch.Templates[:0]
	for _, t := range ch.Templates {
		if t.Name == SecretFileHelperTemplate {
			continue
		}
		if secretFileCall.Match(t.Data) {
			t.Data = secretFileCall.ReplaceAll(t.Data, []byte(`${1}include "`+SecretFileHelper+`"`))
		}
		kept = append(kept, t)
	}
	ch.Templates = append(kept, &chart.File{Name: SecretFileHelperTemplate, Data: []byte(helper)})
	for _, dep := range ch.Dependencies() {
		rewriteTemplates(dep, helper)
	}
}

// LoadChartFiles builds a chart from its files, keyed by their path in the chart, honouring
// the chart's .helmignore as loading a directory does.
func LoadChartFiles(name string, files map[string][]byte) (*Chart, error) {
	rules := ignore.Empty()
	if data, ok := files[ignore.HelmIgnore]; ok {
		parsed, err := ignore.Parse(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("chart %q: %s: %w", name, ignore.HelmIgnore, err)
		}
		rules = parsed
	}
	rules.AddDefaults()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buffered []*loader.BufferedFile
	for _, n := range names {
		if rules.Ignore(n, fileInfo{name: path.Base(n)}) {
			continue
		}
		buffered = append(buffered, &loader.BufferedFile{Name: n, Data: files[n]})
	}
	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, chartLoadError(name, err)
	}
	return &Chart{chart: ch}, nil
}

// fileInfo is the little of os.FileInfo that .helmignore rules look at.
type fileInfo struct{ name string }

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return 0 }
func (f fileInfo) Mode() fs.FileMode  { return 0o644 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }

// DropDefaultValues leaves the chart's own values.yaml out (werf's --disable-default-values);
// subcharts keep theirs.
func (c *Chart) DropDefaultValues() {
	c.chart.Values = map[string]any{}
	kept := c.chart.Raw[:0]
	for _, f := range c.chart.Raw {
		if f.Name != "values.yaml" {
			kept = append(kept, f)
		}
	}
	c.chart.Raw = kept
}

// TemplatesMatch says whether a template of the chart or of one of its subcharts matches re.
func (c *Chart) TemplatesMatch(re *regexp.Regexp) bool {
	var match func(ch *chart.Chart) bool
	match = func(ch *chart.Chart) bool {
		for _, t := range ch.Templates {
			if re.Match(t.Data) {
				return true
			}
		}
		for _, dep := range ch.Dependencies() {
			if match(dep) {
				return true
			}
		}
		return false
	}
	return match(c.chart)
}
