package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
)

// WriteChartDir writes chart files (keyed by their path in the chart) into a new directory
// named name under parent, for the Helm actions that only take directories.
func WriteChartDir(parent, name string, files map[string][]byte) (string, error) {
	dir := filepath.Join(parent, name)
	for n, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return "", fmt.Errorf("chart file %q escapes the chart directory", n)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Lint checks a chart directory as helm lint does; it returns every message, and an error
// when one of them is an error (or, with strict, a warning).
func Lint(chartDir string, values map[string]any, strict bool) ([]string, error) {
	l := action.NewLint()
	l.Strict = strict
	res := l.Run([]string{chartDir}, values)
	var out []string
	failed := false
	for _, m := range res.Messages {
		out = append(out, m.Error())
		if m.Severity >= support.ErrorSev || (strict && m.Severity >= support.WarningSev) {
			failed = true
		}
	}
	if failed || len(res.Errors) > 0 {
		return out, fmt.Errorf("chart %s failed linting", filepath.Base(chartDir))
	}
	return out, nil
}

// Package writes the chart directory as NAME-VERSION.tgz into dest and returns its path.
func Package(chartDir, dest string) (string, error) {
	p := action.NewPackage()
	p.Destination = dest
	return p.Run(chartDir, nil)
}

// SaveChartDir writes a loaded chart (with any template rewrites, such as werf_secret_file)
// into parent/NAME and returns that directory.
func SaveChartDir(ch *Chart, parent string) (string, error) {
	if err := chartutil.SaveDir(ch.chart, parent); err != nil {
		return "", err
	}
	return filepath.Join(parent, ch.Name()), nil
}
