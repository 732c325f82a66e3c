package e2e

import (
	"net/http"
	"net/http/httptest"
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

// TestOCIDependencyDownloaded: a dependency locked in Chart.lock from an oci:// registry is
// pulled when charts/ lacks it.
func TestOCIDependencyDownloaded(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	registry := harness.Registry(t)
	root := t.TempDir()
	lib := filepath.Join(root, "queue")
	writeFile(t, filepath.Join(lib, "Chart.yaml"), "apiVersion: v2\nname: queue\nversion: 2.1.0\n")
	writeFile(t, filepath.Join(lib, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-queue\ndata:\n  from: oci\n")
	helm := func(args ...string) {
		t.Helper()
		env.Command(t, "helm3", args...).Dir(root).Env("HELM_REGISTRY_CONFIG", filepath.Join(root, "registry.json")).Succeed()
	}
	helm("package", lib, "-d", root)
	helm("push", filepath.Join(root, "queue-2.1.0.tgz"), "oci://"+registry+"/charts", "--plain-http")

	app := filepath.Join(root, "app")
	writeFile(t, filepath.Join(app, "Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: queue\n  version: 2.1.0\n  repository: oci://"+registry+"/charts\n")
	helm("dependency", "update", app, "--plain-http")
	if err := os.RemoveAll(filepath.Join(app, "charts")); err != nil {
		t.Fatal(err)
	}
	env.Command(t, "kubectl", "converge", app, "-n", ns, "--plain-http").Env("HELM_REGISTRY_CONFIG", filepath.Join(root, "registry.json")).Succeed()
	if got := jsonPath(t, env, ns, "configmap/app-queue", "{.data.from}"); got != "oci" {
		t.Fatalf("the oci:// dependency was not deployed: %q", got)
	}
}

// TestHTTPRepoDependencyDownloaded: a dependency locked in Chart.lock from a chart repository
// URL (never added with helm repo add) is downloaded when charts/ lacks it.
func TestHTTPRepoDependencyDownloaded(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	root := t.TempDir()
	repoDir := filepath.Join(root, "repo")
	lib := filepath.Join(root, "metrics")
	writeFile(t, filepath.Join(lib, "Chart.yaml"), "apiVersion: v2\nname: metrics\nversion: 0.9.1\n")
	writeFile(t, filepath.Join(lib, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-metrics\ndata:\n  from: http-repo\n")
	env.Command(t, "helm3", "package", lib, "-d", repoDir).Succeed()
	srv := httptest.NewServer(http.FileServer(http.Dir(repoDir)))
	t.Cleanup(srv.Close)
	env.Command(t, "helm3", "repo", "index", repoDir, "--url", srv.URL).Succeed()

	app := filepath.Join(root, "app")
	writeFile(t, filepath.Join(app, "Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: metrics\n  version: 0.9.1\n  repository: "+srv.URL+"\n")
	helmHome := t.TempDir()
	helm := func(args ...string) *harness.Cmd {
		return env.Command(t, "helm3", args...).Env("HELM_CONFIG_HOME", helmHome).Env("HELM_CACHE_HOME", filepath.Join(helmHome, "cache"))
	}
	helm("dependency", "update", app).Succeed()
	if err := os.RemoveAll(filepath.Join(app, "charts")); err != nil {
		t.Fatal(err)
	}
	env.Command(t, "kubectl", "converge", app, "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "configmap/app-metrics", "{.data.from}"); got != "http-repo" {
		t.Fatalf("the repository dependency was not deployed: %q", got)
	}
}
