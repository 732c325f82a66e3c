package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestChartDependencies deploys a chart with a subchart vendored in charts/ and a dependency
// locked in Chart.lock whose archive is missing, which converge downloads.
func TestChartDependencies(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	root := t.TempDir()
	subchart := func(dir, name string) {
		writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: "+name+"\nversion: 0.3.0\n")
		writeFile(t, filepath.Join(dir, "values.yaml"), "message: default\n")
		writeFile(t, filepath.Join(dir, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-"+name+"\ndata:\n  message: {{ .Values.message | quote }}\n")
	}
	subchart(filepath.Join(root, "cache"), "cache")
	app := filepath.Join(root, "app")
	writeFile(t, filepath.Join(app, "Chart.yaml"), `apiVersion: v2
name: app
version: 1.0.0
dependencies:
- name: cache
  version: 0.3.0
  repository: file://../cache
`)
	writeFile(t, filepath.Join(app, "values.yaml"), "cache:\n  message: from-parent\nvendored:\n  message: vendored-from-parent\n")
	subchart(filepath.Join(app, "charts", "vendored"), "vendored")
	env.Command(t, "helm3", "dependency", "update", app).Succeed()
	if _, err := os.Stat(filepath.Join(app, "Chart.lock")); err != nil {
		t.Fatalf("helm dependency update wrote no Chart.lock: %v", err)
	}
	if err := os.Remove(filepath.Join(app, "charts", "cache-0.3.0.tgz")); err != nil {
		t.Fatal(err)
	}

	env.Command(t, "kubectl", "converge", app, "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "configmap/app-cache", "{.data.message}"); got != "from-parent" {
		t.Fatalf("locked dependency's ConfigMap message = %q", got)
	}
	if got := jsonPath(t, env, ns, "configmap/app-vendored", "{.data.message}"); got != "vendored-from-parent" {
		t.Fatalf("vendored subchart's ConfigMap message = %q", got)
	}
	if _, err := os.Stat(filepath.Join(app, "charts", "cache-0.3.0.tgz")); err != nil {
		t.Fatalf("the missing dependency was not downloaded into charts/: %v", err)
	}
}
