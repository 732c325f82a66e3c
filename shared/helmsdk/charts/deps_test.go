package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func writeChart(t *testing.T, dir, chartYAML string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadChartTree: a chart is loaded whole (every declared dependency found) or not at all,
// and loading writes nothing into the chart directory.
func TestLoadChartTree(t *testing.T) {
	tests := []struct {
		name     string
		parent   string
		subs     map[string]string // directory -> Chart.yaml
		wantDeps []string
		wantErr  string
	}{
		{
			name:     "file dependency read through the loader",
			parent:   "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, version: ~0.2.0, repository: file://../sub}\n",
			subs:     map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.3\n"},
			wantDeps: []string{"sub"},
		},
		{
			name:     "nested file dependencies",
			parent:   "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, repository: file://../sub}\n",
			subs:     map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.0\ndependencies:\n- {name: lib, repository: file://../lib}\n", "lib": "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n"},
			wantDeps: []string{"sub"},
		},
		{
			name:    "version out of range is refused, not dropped",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, version: ^1.0.0, repository: file://../sub}\n",
			subs:    map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.0\n"},
			wantErr: `dependency "sub": charts/ holds sub 0.2.0, which does not match the version "^1.0.0"`,
		},
		{
			name:    "missing file dependency",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: gone, repository: file://../gone}\n",
			wantErr: `chart "app": dependency "gone" (file://../gone)`,
		},
		{
			name:    "repository dependency offline and not cached",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: https://charts.example.com}\n",
			wantErr: `chart "app": dependency redis 1.2.3 (https://charts.example.com) is missing`,
		},
		{
			name:    "file dependencies pointing at each other",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: a, repository: file://../a}\n",
			subs:    map[string]string{"a": "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- {name: b, repository: file://../b}\n", "b": "apiVersion: v2\nname: b\nversion: 1.0.0\ndependencies:\n- {name: a, repository: file://../a}\n"},
			wantErr: "nested more than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeChart(t, filepath.Join(root, "app"), tt.parent)
			for dir, meta := range tt.subs {
				writeChart(t, filepath.Join(root, dir), meta)
			}
			ch, err := LoadChartTree(filepath.Join(root, "app"), LoadChart, DependencyOptions{Offline: true, CacheDir: t.TempDir()})
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			var got []string
			for _, d := range ch.chart.Dependencies() {
				got = append(got, d.Name())
			}
			if strings.Join(got, ",") != strings.Join(tt.wantDeps, ",") {
				t.Fatalf("dependencies %v, want %v", got, tt.wantDeps)
			}
			entries, _ := os.ReadDir(filepath.Join(root, "app"))
			for _, e := range entries {
				if e.Name() != "Chart.yaml" && e.Name() != "templates" {
					t.Fatalf("loading wrote %s into the chart directory", e.Name())
				}
			}
		})
	}
}

// TestExportValues: werf's export-values push parent values (service values included) into
// a subchart, in both forms, above what the parent's values say for the subchart.
func TestExportValues(t *testing.T) {
	root := t.TempDir()
	writeChart(t, filepath.Join(root, "app"), `apiVersion: v2
name: app
version: 1.0.0
dependencies:
- name: backend
  alias: api
  repository: file://../backend
  export-values:
  - {parent: werf, child: werf}
  - {parent: db.host, child: database.host}
  - shared
`)
	if err := os.WriteFile(filepath.Join(root, "app", "values.yaml"), []byte("db: {host: db.internal}\nexports: {shared: {region: eu}}\napi: {database: {host: overridden}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeChart(t, filepath.Join(root, "backend"), "apiVersion: v2\nname: backend\nversion: 0.1.0\n")
	ch, err := LoadChartTree(filepath.Join(root, "app"), LoadChart, DependencyOptions{Offline: true, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ch.ExportValues(map[string]any{"werf": map[string]any{"env": "production"}})
	if err != nil {
		t.Fatal(err)
	}
	api, _ := vals["api"].(map[string]any)
	if got, _ := valueAt(vals, "api.werf.env"); got != "production" {
		t.Errorf("api.werf.env = %v, want the service value", got)
	}
	if got, _ := valueAt(vals, "api.database.host"); got != "db.internal" {
		t.Errorf("api.database.host = %v, want the exported db.internal over the parent's own", got)
	}
	if got, _ := valueAt(vals, "api.region"); got != "eu" {
		t.Errorf("api.region = %v, want eu from the short form (exports.shared)", got)
	}
	if api == nil {
		t.Fatalf("no values for the alias api: %v", vals)
	}
}
