package werfproject

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wantedError checks err against the wanted parts of its message (empty ones ignored): nil
// when none is wanted, else one line holding each. It reports whether an error was wanted.
func wantedError(t *testing.T, err error, want ...string) bool {
	t.Helper()
	want = slices.DeleteFunc(want, func(s string) bool { return s == "" })
	if len(want) == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %q, want one line containing %q", err, w)
		}
	}
	return true
}

func writeWerfYAML(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "werf.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNames follows werf's deploy_params rules and tests (pkg/config/deploy_params).
func TestNames(t *testing.T) {
	tests := []struct {
		name                        string
		werfYAML                    string
		explicitRelease, explicitNS string
		env                         string
		wantRelease, wantNamespace  string
		wantErr                     string
	}{
		{name: "project alone", werfYAML: "project: shop\nconfigVersion: 1\n", wantRelease: "shop", wantNamespace: "shop"},
		{name: "project and env", werfYAML: "project: shop\nconfigVersion: 1\n", env: "production", wantRelease: "shop-production", wantNamespace: "shop-production"},
		{
			name:        "templates with namespace in the release",
			werfYAML:    "project: shop\nconfigVersion: 1\ndeploy:\n  helmRelease: \"[[ project ]]-[[ env ]]-[[ namespace ]]\"\n  namespace: \"[[ env ]]-[[ project ]]\"\n",
			env:         "production",
			wantRelease: "shop-production-production-shop", wantNamespace: "production-shop",
		},
		{
			name:            "explicit names are used as given",
			werfYAML:        "project: shop\nconfigVersion: 1\n",
			env:             "production",
			explicitRelease: "my.release", explicitNS: "my-ns",
			wantRelease: "my.release", wantNamespace: "my-ns",
		},
		{
			name:     "an explicit invalid name is refused, not slugged",
			werfYAML: "project: shop\nconfigVersion: 1\n", explicitRelease: "cannot_use_such_release_name",
			wantErr: `--release "cannot_use_such_release_name"`,
		},
		{
			name:        "env that needs a slug",
			werfYAML:    "project: shop\nconfigVersion: 1\n",
			env:         "Review/JIRA_12",
			wantRelease: "shop-review-jira-12-" + hex(murmur3([]byte("shop-Review/JIRA_12"))), wantNamespace: "shop-review-jira-12-" + hex(murmur3([]byte("shop-Review/JIRA_12"))),
		},
		{
			name:     "slugs turned off",
			werfYAML: "project: shop\nconfigVersion: 1\ndeploy:\n  helmReleaseSlug: false\n  namespaceSlug: false\n",
			env:      "Bad_Env", wantErr: `deploy.namespace "[[ project ]]-[[ env ]]" renders "shop-Bad_Env"`,
		},
		{
			name:     "werf.yaml templating: .Env, env with a default, sprig, define and include",
			werfYAML: "{{ define \"ns\" }}{{ .Env | default \"dev\" }}-apps{{ end }}\nproject: {{ env \"PROJECT_NAME\" \"shop\" | lower }}\nconfigVersion: 1\ndeploy:\n  namespace: {{ include \"ns\" . }}\n---\nimage: backend\ndockerfile: Dockerfile\n",
			env:      "staging", wantRelease: "shop-staging", wantNamespace: "staging-apps",
		},
		{name: "bad project", werfYAML: "project: Shop_1\nconfigVersion: 1\n", wantErr: `project "Shop_1"`},
		{name: "empty template", werfYAML: "project: shop\nconfigVersion: 1\ndeploy:\n  helmRelease: \"\"\n", wantErr: "deploy.helmRelease cannot be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeWerfYAML(t, tt.werfYAML)
			cfg, err := Load(LoadOptions{Dir: dir, Env: tt.env, LookupEnv: func(string) (string, bool) { return "", false }})
			var release, namespace string
			if err == nil {
				namespace, err = cfg.Namespace(tt.explicitNS, tt.env)
			}
			if err == nil {
				release, err = cfg.Release(tt.explicitRelease, tt.env, namespace)
			}
			if wantedError(t, err, tt.wantErr) {
				return
			}
			if release != tt.wantRelease || namespace != tt.wantNamespace {
				t.Fatalf("release %q, namespace %q; want %q, %q", release, namespace, tt.wantRelease, tt.wantNamespace)
			}
		})
	}
}

func TestLoadWithoutWerfYAML(t *testing.T) {
	cfg, err := Load(LoadOptions{Dir: t.TempDir()})
	if cfg != nil || err != nil {
		t.Fatalf("Load of a directory without werf.yaml = %v, %v", cfg, err)
	}
}

func TestEnvInWerfYAMLIsGated(t *testing.T) {
	dir := writeWerfYAML(t, "project: {{ env \"PROJECT\" }}\nconfigVersion: 1\n")
	lookup := func(name string) (string, bool) { return map[string]string{"PROJECT": "shop"}[name], name == "PROJECT" }
	_, err := Load(LoadOptions{Dir: dir, LookupEnv: lookup, EnvAllowed: func(string) bool { return false }})
	if err == nil || !strings.Contains(err.Error(), "config.goTemplateRendering.allowEnvVariables") {
		t.Fatalf("err = %v, want the giterminism refusal", err)
	}
	cfg, err := Load(LoadOptions{Dir: dir, LookupEnv: lookup, EnvAllowed: func(n string) bool { return n == "PROJECT" }})
	if err != nil || cfg.Project != "shop" {
		t.Fatalf("allowed env: %v, %v", cfg, err)
	}
	_, err = Load(LoadOptions{Dir: writeWerfYAML(t, "project: {{ env \"UNSET\" }}\nconfigVersion: 1\n"), LookupEnv: lookup, EnvAllowed: func(string) bool { return true }})
	if err == nil || !strings.Contains(err.Error(), "must be set") {
		t.Fatalf("unset variable in giterminism: %v", err)
	}
}
