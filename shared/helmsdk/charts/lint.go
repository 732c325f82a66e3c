package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/rules"
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

// Lint checks a chart directory (or archive) as helm lint does, rendering its templates with
// the service values; the values and values.schema.json are checked without them, as a deploy
// checks them (werf/werf pull request 7756), so that a schema allowing only the chart's own keys
// passes. It returns every message, and an error when one of them is an error (or, with
// strict, a warning).
func Lint(chartPath string, service map[string]any, strict bool) ([]string, error) {
	var messages []support.Message
	failed := false
	if len(service) == 0 {
		l := action.NewLint()
		l.Strict = strict
		res := l.Run([]string{chartPath}, nil)
		messages, failed = res.Messages, len(res.Errors) > 0
	} else {
		dir, cleanup, err := lintDir(chartPath)
		defer cleanup()
		if err != nil {
			return nil, err
		}
		messages = lintWithService(dir, service)
	}
	var out []string
	for _, m := range messages {
		out = append(out, m.Error())
		if m.Severity >= support.ErrorSev || (strict && m.Severity >= support.WarningSev) {
			failed = true
		}
	}
	if failed {
		return out, fmt.Errorf("chart %s failed linting", filepath.Base(chartPath))
	}
	return out, nil
}

// lintWithService runs helm lint's rules in helm's order, but the values rule and the schema
// check see no service values, and the templates render with them.
func lintWithService(dir string, service map[string]any) []support.Message {
	linter := support.Linter{ChartDir: dir}
	rules.Chartfile(&linter)
	rules.ValuesWithOverrides(&linter, nil)
	if linter.RunLinterRule(support.ErrorSev, "templates/", validateSchema(dir)) {
		rules.TemplatesWithSkipSchemaValidation(&linter, service, "", nil, true)
	}
	rules.Dependencies(&linter)
	return linter.Messages
}

// validateSchema checks the chart's values, without any other, against the values.schema.json
// of the chart and its subcharts, as helm lint's templates rule does before it renders.
func validateSchema(dir string) error {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil // the templates rule reports it
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, map[string]any{}); err != nil {
		return nil
	}
	values, err := chartutil.CoalesceValues(ch, map[string]any{})
	if err != nil {
		return nil
	}
	if err := chartutil.ValidateAgainstSchema(ch, values); err != nil {
		return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", err.Error())
	}
	return nil
}

// lintDir is the chart directory of chartPath: itself, or an archive expanded into a temporary
// directory that cleanup removes.
func lintDir(chartPath string) (dir string, cleanup func(), err error) {
	cleanup = func() {}
	if info, err := os.Stat(chartPath); err != nil || info.IsDir() {
		return chartPath, cleanup, nil
	}
	ch, err := LoadChart(chartPath)
	if err != nil {
		return "", cleanup, err
	}
	tmp, err := os.MkdirTemp("", "giterm-lint-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	dir, err = SaveChartDir(ch, tmp)
	return dir, cleanup, err
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
