package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	if _, err := os.Stat(filepath.Join(app, "charts", "cache-0.3.0.tgz")); !os.IsNotExist(err) {
		t.Fatalf("converge wrote the dependency into the chart's charts/ (%v): it must leave the work tree alone", err)
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
	srv := metricsChartRepo(t, env)

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
	// Plain HTTP only with --plain-http: without it the dependency is refused, naming it and the flag.
	res := env.Command(t, "kubectl", "converge", app, "-n", ns).Env("XDG_CACHE_HOME", t.TempDir()).Run()
	if want := `dependency "metrics" comes from ` + srv.URL + ` over plain HTTP, which anyone on the way can change: use https, or pass --plain-http to allow it`; res.ExitCode == 0 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("converge of an http:// dependency without --plain-http: exit %d, want %q\n%s", res.ExitCode, want, res.Stderr)
	}
	env.Command(t, "kubectl", "converge", app, "-n", ns, "--plain-http").Succeed()
	if got := jsonPath(t, env, ns, "configmap/app-metrics", "{.data.from}"); got != "http-repo" {
		t.Fatalf("the repository dependency was not deployed: %q", got)
	}
}

// metricsChartRepo serves a chart repository (index.yaml and archives) holding metrics 0.9.1,
// whose ConfigMap RELEASE-metrics says it came from an HTTP repository.
func metricsChartRepo(t *testing.T, env *harness.Env) *httptest.Server {
	t.Helper()
	root := t.TempDir()
	repoDir := filepath.Join(root, "chart-repo")
	lib := filepath.Join(root, "metrics")
	writeFile(t, filepath.Join(lib, "Chart.yaml"), "apiVersion: v2\nname: metrics\nversion: 0.9.1\n")
	writeFile(t, filepath.Join(lib, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-metrics\ndata:\n  from: http-repo\n")
	env.Command(t, "helm3", "package", lib, "-d", repoDir).Succeed()
	srv := httptest.NewServer(http.FileServer(http.Dir(repoDir)))
	t.Cleanup(srv.Close)
	env.Command(t, "helm3", "repo", "index", repoDir, "--url", srv.URL).Succeed()
	return srv
}

// dependencyRepo writes werf's recommended layout: .helm/Chart.yaml with a file://../sub
// dependency and one from a chart repository URL, Chart.lock committed, .helm/charts/
// ignored. It returns the repository and the chart repository's server.
func dependencyRepo(t *testing.T, env *harness.Env) (dir string, srv *httptest.Server) {
	t.Helper()
	root := t.TempDir()
	srv = metricsChartRepo(t, env)

	dir = filepath.Join(root, "project")
	writeFile(t, filepath.Join(dir, "sub", "Chart.yaml"), "apiVersion: v2\nname: sub\nversion: 0.2.0\n")
	writeFile(t, filepath.Join(dir, "sub", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\ndata:\n  from: file-dependency\n  env: {{ (.Values.werf | default dict).env | default \"none\" | quote }}\n")
	// werf's export-values hands the service values down to the subchart.
	writeFile(t, filepath.Join(dir, ".helm", "Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: ~0.2.0\n  repository: file://../sub\n  export-values:\n  - {parent: werf, child: werf}\n- name: metrics\n  version: 0.9.1\n  repository: "+srv.URL+"\n")
	writeFile(t, filepath.Join(dir, ".helm", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-parent\ndata:\n  from: parent\n")
	writeFile(t, filepath.Join(dir, ".gitignore"), ".helm/charts/\n")
	helmHome := t.TempDir()
	env.Command(t, "helm3", "dependency", "update", filepath.Join(dir, ".helm")).Env("HELM_CONFIG_HOME", helmHome).Env("HELM_CACHE_HOME", filepath.Join(helmHome, "cache")).Succeed()
	if err := os.RemoveAll(filepath.Join(dir, ".helm", "charts")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "chart with dependencies")
	return dir, srv
}

func gitStatus(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=all", "--ignored").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestDependenciesUnderGiterminism: every mode renders the subcharts (a file:// dependency
// read from the same commit, a repository dependency from the cache), and none writes into
// the work tree; a release deployed with its subchart keeps it through a git-mode converge.
func TestDependenciesUnderGiterminism(t *testing.T) {
	env := harness.Get(t)
	dir, _ := dependencyRepo(t, env)
	modes := map[string][]string{
		"plain":        {"kubectl", "converge", "render", "--release", "app", "--env", "staging", "--plain-http"},
		"git-ref HEAD": {"kubectl", "converge", "render", "--release", "app", "--env", "staging", "--git-ref", "HEAD", "--plain-http"},
		"helm giterm":  {"helm-giterm", "template", "app", "--env", "staging", "--plain-http"},
	}
	for _, name := range []string{"plain", "git-ref HEAD", "helm giterm"} {
		args := modes[name]
		before := gitStatus(t, dir)
		res := env.Command(t, args[0], args[1:]...).Dir(dir).Run()
		if res.ExitCode != 0 {
			t.Fatalf("%s: exit %d\n%s", name, res.ExitCode, res.Stderr)
		}
		for _, want := range []string{"name: app-parent", "name: app-sub", "name: app-metrics", `env: "staging"`} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("%s: the rendered chart lacks %q", name, want)
			}
		}
		if after := gitStatus(t, dir); before != "" || after != "" {
			t.Errorf("%s: git status before %q, after %q; want both empty", name, before, after)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	ns := env.Namespace(t)
	env.Command(t, "kubectl", "converge", "--release", "app", "-n", ns, "--plain-http").Dir(dir).Succeed()
	env.Command(t, "kubectl", "converge", "--release", "app", "-n", ns, "--git-ref", "HEAD", "--plain-http").Dir(dir).Succeed()
	for _, cm := range []string{"app-parent", "app-sub", "app-metrics"} {
		if got := jsonPath(t, env, ns, "configmap/"+cm, "{.metadata.name}"); got != cm {
			t.Errorf("configmap %s is gone after the git-mode converge", cm)
		}
	}
	manifest := env.Command(t, "helm3", "get", "manifest", "app", "-n", ns).Succeed().Stdout
	for _, cm := range []string{"app-sub", "app-metrics"} {
		if !strings.Contains(manifest, "name: "+cm) {
			t.Errorf("helm get manifest lacks %s", cm)
		}
	}
	if s := gitStatus(t, dir); s != "" {
		t.Errorf("git status after the converges: %q", s)
	}
}

// TestMissingDependencyChangesNothing: a dependency neither in charts/ nor in the cache, whose
// repository is unreachable, stops render, plan and converge with an error naming it; the
// deployed release and its objects stay as they were.
func TestMissingDependencyChangesNothing(t *testing.T) {
	env := harness.Get(t)
	dir, srv := dependencyRepo(t, env)
	cache := t.TempDir()
	ns := env.Namespace(t)
	env.Command(t, "kubectl", "converge", "--release", "app", "-n", ns, "--plain-http").Dir(dir).Env("XDG_CACHE_HOME", cache).Succeed()
	before := env.Kubectl(t, "-n", ns, "get", "configmaps", "-o", "jsonpath={range .items[*]}{.metadata.name}:{.metadata.resourceVersion} {end}")

	srv.Close()
	emptyCache := t.TempDir()
	for _, args := range [][]string{
		{"converge", "render", "--release", "app", "--plain-http"},
		{"converge", "plan", "--release", "app", "-n", ns, "--plain-http"},
		{"converge", "--release", "app", "-n", ns, "--git-ref", "HEAD", "--plain-http"},
	} {
		res := env.Command(t, "kubectl", args...).Dir(dir).Env("XDG_CACHE_HOME", emptyCache).Run()
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"metrics"`) || !strings.Contains(res.Stderr, srv.URL) {
			t.Errorf("kubectl %s: exit %d, want an error naming the dependency metrics and its repository\n%s", strings.Join(args, " "), res.ExitCode, res.Stderr)
		}
	}
	after := env.Kubectl(t, "-n", ns, "get", "configmaps", "-o", "jsonpath={range .items[*]}{.metadata.name}:{.metadata.resourceVersion} {end}")
	if before != after {
		t.Fatalf("objects changed:\nbefore %s\nafter  %s", before, after)
	}
	if got := statuses(helmHistory(t, env, "helm3", ns, "app")); got != "deployed" {
		t.Fatalf("release history %s, want only the first deployed revision", got)
	}
}
