// Package redact keeps the secret strings a run has handled (decrypted secret values,
// Secret object data) and removes them from everything the run prints or saves: progress,
// logs of pods, NOTES, errors, JSON, reports and plans. It is process-wide because secrets
// are found deep in the deploy while the streams are set up in main.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret string.
const Mask = "***"

// minLength keeps short values ("1", "true", "on") from masking unrelated text.
const minLength = 4

var (
	mu      sync.RWMutex
	secrets = map[string]bool{}
	// short are secrets too short to mask inside text ("1", "on" are everywhere): they are
	// masked where they stand as a whole value, quoted or after "key:" / "key=".
	short = map[string]bool{}
	// ordered is secrets, longest first, so that a secret containing another is masked whole.
	ordered []string
)

// Add registers secret strings in every form output may show them in: as they are, in
// base64 (Secret data), escaped as JSON and YAML double-quoted strings escape them (-o json,
// reports, plan diffs), single-quoted YAML, and line by line for multi-line values (a PEM
// key printed in a folded diff or a log).
func Add(values ...string) {
	mu.Lock()
	defer mu.Unlock()
	changed := false
	for _, v := range values {
		if t := strings.TrimSpace(v); t != "" && len(t) < minLength && !strings.ContainsAny(t, "\n\"") {
			short[t] = true
		}
		for _, form := range forms(v) {
			if len(form) >= minLength && !secrets[form] {
				secrets[form] = true
				changed = true
			}
		}
	}
	if changed {
		ordered = ordered[:0]
		for s := range secrets {
			ordered = append(ordered, s)
		}
		sort.Slice(ordered, func(i, j int) bool { return len(ordered[i]) > len(ordered[j]) })
	}
}

// forms are the encodings of v that output may hold.
func forms(v string) []string {
	out := []string{v, strings.TrimSpace(v), base64.StdEncoding.EncodeToString([]byte(v))}
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) == nil {
			quoted := strings.TrimSuffix(b.String(), "\n")
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(quoted, `"`), `"`))
		}
	}
	out = append(out, strings.ReplaceAll(v, "'", "''"))
	if strings.Contains(strings.TrimSpace(v), "\n") {
		for _, line := range strings.Split(v, "\n") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// AddValues registers every string leaf of a values tree (maps, lists, strings).
func AddValues(tree any) {
	switch v := tree.(type) {
	case string:
		Add(v)
	case map[string]any:
		for _, child := range v {
			AddValues(child)
		}
	case []any:
		for _, child := range v {
			AddValues(child)
		}
	}
}

// String returns s with every registered secret masked.
func String(s string) string {
	mu.RLock()
	defer mu.RUnlock()
	for _, secret := range ordered {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	for secret := range short {
		if strings.Contains(s, secret) {
			for _, re := range wholeValue(secret) {
				s = re.ReplaceAllString(s, "${1}"+Mask+"${2}")
			}
		}
	}
	return s
}

// wholeValue matches a short secret standing as a whole value: "x7Q", 'x7Q', key: x7Q at the
// end of a line, key=x7Q.
func wholeValue(secret string) []*regexp.Regexp {
	q := regexp.QuoteMeta(secret)
	return []*regexp.Regexp{
		regexp.MustCompile(`(")` + q + `(")`),
		regexp.MustCompile(`(')` + q + `(')`),
		regexp.MustCompile(`(?m)(:[ \t]+)` + q + `([ \t]*)$`),
		regexp.MustCompile(`(=)` + q + `(\s|$|&|,)`),
	}
}

// Bytes is String for byte slices.
func Bytes(b []byte) []byte { return []byte(String(string(b))) }

// Writer masks secrets in everything written through it. Writes are masked one at a time:
// the printers write whole lines.
type Writer struct {
	W io.Writer
}

// NewWriter wraps w; a Writer is not wrapped twice.
func NewWriter(w io.Writer) io.Writer {
	if _, ok := w.(*Writer); ok {
		return w
	}
	return &Writer{W: w}
}

func (r *Writer) Write(p []byte) (int, error) {
	if _, err := r.W.Write(Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap is the writer underneath, for terminal detection and for output that must not be
// masked (rendered manifests asked for on purpose).
func (r *Writer) Unwrap() io.Writer { return r.W }

// Unwrap returns the writer under a Writer, or w itself.
func Unwrap(w io.Writer) io.Writer {
	if r, ok := w.(*Writer); ok {
		return r.W
	}
	return w
}
