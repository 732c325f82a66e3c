package werfproject

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestRender follows werf 1.2's werf.yaml templating (pkg/config/parser.go
// renderWerfConfigYaml, funcMap, files): the project name, release and namespace templates
// and the chart directory come out of the rendered meta section.
func TestRender(t *testing.T) {
	commit := &Commit{Hash: "0123456789abcdef0123456789abcdef01234567", Date: time.Date(2026, 12, 5, 13, 4, 5, 0, time.FixedZone("", 3*3600))}
	const meta = "configVersion: 1\n"
	tests := []struct {
		name         string
		files        map[string]string
		config       string // --config, relative to the project directory
		templatesDir string // --config-templates-dir, relative to the project directory
		env          string
		vars         map[string]string
		noCommit     bool
		wantProject  string
		wantRelease  string
		wantChartDir string
		wantErr      []string
	}{
		{
			name:        ".Files.Get reads a file of the project",
			files:       map[string]string{"werf.yaml": meta + "project: {{ .Files.Get \"deploy/name.txt\" | trim }}\n", "deploy/name.txt": "shop\n"},
			wantProject: "shop", wantRelease: "shop",
		},
		{
			name:    ".Files.Get of a missing file",
			files:   map[string]string{"werf.yaml": meta + "project: {{ .Files.Get \"nope.txt\" }}\n"},
			wantErr: []string{"werf.yaml:2:", `{{ .Files.Get "nope.txt" }}`},
		},
		{
			name: ".Files.Glob with **, keys relative to the project",
			files: map[string]string{
				"werf.yaml":     meta + "project: shop\ndeploy:\n  helmRelease: \"{{ range $k, $v := .Files.Glob \"conf/**/*.name\" }}{{ trim $v }}-{{ end }}x\"\n",
				"conf/a.name":   "a\n",
				"conf/b/c.name": "c\n",
				"conf/b/d.txt":  "d\n",
			},
			wantProject: "shop", wantRelease: "a-c-x",
		},
		{
			name:    ".Files.Glob without a match",
			files:   map[string]string{"werf.yaml": meta + "project: {{ .Files.Glob \"*.none\" }}\n"},
			wantErr: []string{`{{ .Files.Glob "*.none" }}: no matches found`},
		},
		{
			name:        ".Commit.Hash, .Commit.Date.Human and .Commit.Date.Unix",
			files:       map[string]string{"werf.yaml": meta + "project: shop\ndeploy:\n  helmRelease: \"{{ .Commit.Hash | trunc 7 }}-{{ .Commit.Date.Unix }}-{{ .Commit.Date.Human | trunc 10 }}\"\n"},
			wantProject: "shop", wantRelease: "0123456-1796465045-2026-12-05",
		},
		{
			name:     ".Commit outside git",
			files:    map[string]string{"werf.yaml": meta + "project: shop-{{ .Commit.Hash }}\n"},
			noCommit: true,
			wantErr:  []string{"werf.yaml:2:", "not in a git repository"},
		},
		{
			name: "partials of .werf, nested, by include and tpl",
			files: map[string]string{
				"werf.yaml":                   meta + "project: {{ include \"project\" . }}\ndeploy:\n  helmRelease: {{ tpl \"{{ include \\\"partials/release.tmpl\\\" . }}\" . }}\n",
				".werf/_names.tmpl":           "{{- define \"project\" }}shop{{ end -}}",
				".werf/partials/release.tmpl": "{{ include \"project\" . }}-{{ .Env }}-rel",
				".werf/README.md":             "{{ not a template",
			},
			env:         "prod",
			wantProject: "shop", wantRelease: "shop-prod-rel",
		},
		{
			name:         "--config-templates-dir",
			files:        map[string]string{"werf.yaml": meta + "project: {{ include \"p\" . }}\n", "tmpl/p.tmpl": "{{ define \"p\" }}shop{{ end }}"},
			templatesDir: "tmpl",
			wantProject:  "shop", wantRelease: "shop",
		},
		{
			name:        "env with a default, fromYaml",
			files:       map[string]string{"werf.yaml": meta + "project: {{ env \"PROJECT\" \"none\" }}\ndeploy:\n  helmRelease: {{ (fromYaml \"a: {b: rel}\").a.b }}\n"},
			vars:        map[string]string{"PROJECT": "shop"},
			wantProject: "shop", wantRelease: "rel",
		},
		{
			name:    "required fails on one line naming werf.yaml, the line and the message",
			files:   map[string]string{"werf.yaml": meta + "project: shop\ndeploy:\n  namespace: {{ required \"deploy.namespace: set NAMESPACE\" (env \"NAMESPACE\") }}\n"},
			wantErr: []string{"werf.yaml:4:", "error calling required: deploy.namespace: set NAMESPACE"},
		},
		{
			name:        "WERF_PROJECT_NAME replaces the project",
			files:       map[string]string{"werf.yaml": meta + "project: shop\n"},
			vars:        map[string]string{"WERF_PROJECT_NAME": "other"},
			wantProject: "other", wantRelease: "other",
		},
		{
			name:        "--config in a subdirectory: .helm beside it",
			files:       map[string]string{"deploy/werf-prod.yaml": meta + "project: shop\n"},
			config:      "deploy/werf-prod.yaml",
			wantProject: "shop", wantRelease: "shop",
			wantChartDir: "deploy/.helm",
		},
		{
			name:        "deploy.helmChartDir is relative to the project directory",
			files:       map[string]string{"deploy/werf-prod.yaml": meta + "project: shop\ndeploy:\n  helmChartDir: charts/shop\n"},
			config:      "deploy/werf-prod.yaml",
			wantProject: "shop", wantRelease: "shop",
			wantChartDir: "charts/shop",
		},
		{
			name:        "image documents are left to werf",
			files:       map[string]string{"werf.yaml": "project: shop\nconfigVersion: 1\n---\nimage: backend\ndockerfile: Dockerfile\n"},
			wantProject: "shop", wantRelease: "shop",
		},
		{
			name:    "an unknown deploy key is refused, as werf refuses it",
			files:   map[string]string{"werf.yaml": meta + "project: shop\ndeploy:\n  helmReleaseName: x\n"},
			wantErr: []string{"werf.yaml: unknown key deploy.helmReleaseName in the meta section"},
		},
		{
			name:    "an unknown meta key is refused",
			files:   map[string]string{"werf.yaml": meta + "project: shop\nhelmRelease: x\n"},
			wantErr: []string{"unknown key helmRelease in the meta section"},
		},
		{
			name:    "two meta sections",
			files:   map[string]string{"werf.yaml": meta + "project: shop\n---\n" + meta + "project: other\n"},
			wantErr: []string{"two documents with configVersion"},
		},
		{
			name:    "no meta section",
			files:   map[string]string{"werf.yaml": "project: shop\n"},
			wantErr: []string{"no document with configVersion"},
		},
		{
			name:    "a multi-line fail message stays on one line",
			files:   map[string]string{"werf.yaml": meta + "project: {{ fail \"first\\nsecond\" }}\n"},
			wantErr: []string{"first second"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testutil.WriteFiles(t, dir, tt.files)
			opts := LoadOptions{Dir: dir, Env: tt.env, Commit: commit, LookupEnv: func(name string) (string, bool) {
				v, ok := tt.vars[name]
				return v, ok
			}}
			if tt.noCommit {
				opts.Commit = nil
			}
			if tt.config != "" {
				opts.Config = filepath.Join(dir, tt.config)
			}
			if tt.templatesDir != "" {
				opts.TemplatesDir = filepath.Join(dir, tt.templatesDir)
			}
			cfg, err := Load(opts)
			var release string
			if err == nil {
				release, err = cfg.Release("", tt.env, "ns")
			}
			if wantedError(t, err, tt.wantErr...) {
				return
			}
			wantChartDir := tt.wantChartDir
			if wantChartDir == "" {
				wantChartDir = DefaultChartDir
			}
			if cfg.Project != tt.wantProject || release != tt.wantRelease || cfg.ChartDir != filepath.FromSlash(wantChartDir) {
				t.Fatalf("project %q, release %q, chart dir %q; want %q, %q, %q", cfg.Project, release, cfg.ChartDir, tt.wantProject, tt.wantRelease, wantChartDir)
			}
		})
	}
}

// TestLoadReadsThroughTheSource checks that werf.yaml, its partials and .Files come from the
// reader given (the commit in git mode), not the file system.
func TestLoadReadsThroughTheSource(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{"werf.yaml": "configVersion: 1\nproject: disk\n"})
	committed := map[string]string{
		"werf.yaml":      "configVersion: 1\nproject: {{ include \"p\" . }}-{{ .Files.Get \"suffix\" }}\n",
		".werf/p.tmpl":   "{{ define \"p\" }}committed{{ end }}",
		"suffix":         "x",
		".werf/q/r.tmpl": "",
	}
	read := func(p string) ([]byte, error) {
		rel, _ := filepath.Rel(dir, p)
		if c, ok := committed[filepath.ToSlash(rel)]; ok {
			return []byte(c), nil
		}
		return nil, errNoCommit
	}
	readDir := func(d string) (map[string][]byte, error) {
		rel, _ := filepath.Rel(dir, d)
		out := map[string][]byte{}
		for name, c := range committed {
			if after, ok := strings.CutPrefix(name, filepath.ToSlash(rel)+"/"); ok {
				out[after] = []byte(c)
			}
		}
		return out, nil
	}
	cfg, err := Load(LoadOptions{Dir: dir, Read: read, ReadDir: readDir})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Project != "committed-x" {
		t.Fatalf("project %q, want committed-x", cfg.Project)
	}
}
