package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// renderedConfigMaps returns the data of every ConfigMap in a rendered manifest, by name.
func renderedConfigMaps(t *testing.T, manifest string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, doc := range strings.Split(manifest, "\n---") {
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("manifest document: %v\n%s", err, doc)
		}
		if m.Kind == "ConfigMap" {
			out[m.Metadata.Name] = m.Data
		}
	}
	return out
}

// TestExportValuesAtEveryDepth: a werf-shaped project (.helm with a subchart that has its
// own subchart, export-values at both levels, an aliased and a condition-disabled subchart,
// werf-giterminism.yaml with giterminismConfigVersion "1") renders in every mode and
// converges with the service values, the chart's values and the user's --set reaching the
// sub-subchart, as werf hands them down.
func TestExportValuesAtEveryDepth(t *testing.T) {
	env := harness.Get(t)
	dir := t.TempDir()
	copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "export-values"), filepath.Join(dir, ".helm"))
	writeFile(t, filepath.Join(dir, "werf-giterminism.yaml"), "giterminismConfigVersion: \"1\"\n")
	git(t, dir, "init", "-q")
	commitAll(t, dir, "werf-shaped project")
	values := []string{"--env", "staging", "--image", "app2=registry.example/app2:v2", "--set", "settings.region=eu"}
	want := map[string]map[string]string{
		"shop-storefront": {"image": "registry.example/app2:v2"},
		"shop-web":        {"image": "registry.example/app2:v2", "tier": "gold"},
		// backend receives from web what web itself received: the service values, the
		// parent's settings with web's own defaults under them, and the user's --set.
		"shop-backend": {"image": "registry.example/app2:v2", "env": "staging", "tier": "gold", "replicas": "2", "region": "eu"},
		"shop-worker":  {"image": "registry.example/app2:v2"},
	}
	modes := map[string][]string{
		"kubectl converge render":            {"kubectl", "converge", "render", "--release", "shop"},
		"kubectl converge render --git-ref":  {"kubectl", "converge", "render", "--release", "shop", "--git-ref", "HEAD"},
		"helm giterm template (giterminism)": {"helm-giterm", "template", "shop"},
	}
	for name, args := range modes {
		res := env.Command(t, args[0], append(args[1:], values...)...).Dir(dir).Succeed()
		got := renderedConfigMaps(t, res.Stdout)
		for cm, data := range want {
			for key, value := range data {
				if got[cm][key] != value {
					t.Errorf("%s: configmap %s %s = %q, want %q", name, cm, key, got[cm][key], value)
				}
			}
		}
		if _, ok := got["shop-optional"]; ok {
			t.Errorf("%s: the condition-disabled subchart rendered", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	ns := env.Namespace(t)
	env.Command(t, "kubectl", append([]string{"converge", "--release", "shop", "-n", ns}, values...)...).Dir(dir).Succeed()
	for cm, data := range want {
		for key, value := range data {
			if got := jsonPath(t, env, ns, "configmap/"+cm, "{.data."+key+"}"); got != value {
				t.Errorf("live configmap %s %s = %q, want %q", cm, key, got, value)
			}
		}
	}
}

// TestWerfChartLockDownloaded: a Chart.lock as werf writes it (its digest covers the
// dependencies' export-values, Helm's does not) with a repository dependency that is not in
// charts/: the lock is in sync, the dependency is downloaded at the locked version, and the
// exported values reach the vendored subchart.
func TestWerfChartLockDownloaded(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	srv := metricsChartRepo(t, env)
	app := filepath.Join(t.TempDir(), "app")
	writeFile(t, filepath.Join(app, "Chart.yaml"), `apiVersion: v2
name: app
version: 1.0.0
dependencies:
- name: probe
  version: 0.1.0
  export-values:
  - parent: werf
    child: werf
- name: metrics
  version: 0.9.1
  repository: `+srv.URL+"\n")
	writeFile(t, filepath.Join(app, "charts", "probe", "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(app, "charts", "probe", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-probe\ndata:\n  env: {{ .Values.werf.env | quote }}\n")
	// What werf's resolver hashes (json.Marshal([2][]*chart.Dependency{req, lock}) with
	// werf's Dependency type, export-values its last field), written out.
	werfJSON := `[[{"name":"probe","version":"0.1.0","repository":"","export-values":[{"child":"werf","parent":"werf"}]},` +
		`{"name":"metrics","version":"0.9.1","repository":"` + srv.URL + `"}],` +
		`[{"name":"probe","version":"0.1.0","repository":""},{"name":"metrics","version":"0.9.1","repository":"` + srv.URL + `"}]]`
	helmJSON := strings.Replace(werfJSON, `,"export-values":[{"child":"werf","parent":"werf"}]`, "", 1)
	digest := func(s string) string { sum := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(sum[:]) }
	if digest(werfJSON) == digest(helmJSON) {
		t.Fatal("the werf digest must differ from Helm's for this chart")
	}
	writeFile(t, filepath.Join(app, "Chart.lock"), `dependencies:
- name: probe
  repository: ""
  version: 0.1.0
- name: metrics
  repository: `+srv.URL+`
  version: 0.9.1
digest: `+digest(werfJSON)+`
generated: "2026-01-02T03:04:05.000000000+01:00"
`)
	env.Command(t, "kubectl", "converge", app, "--release", "app", "-n", ns, "--env", "staging", "--plain-http").Succeed()
	if got := jsonPath(t, env, ns, "configmap/app-metrics", "{.data.from}"); got != "http-repo" {
		t.Fatalf("the repository dependency was not deployed: %q", got)
	}
	if got := jsonPath(t, env, ns, "configmap/app-probe", "{.data.env}"); got != "staging" {
		t.Fatalf("the exported werf.env did not reach the subchart: %q", got)
	}
}
