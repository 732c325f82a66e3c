package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestRetryAfterFailedFirstInstallIsAnInstall: a first install fails (an image that cannot be
// pulled); the fixed retry is an install, as nelm decides (pkg/action/release_install.go), not
// the upgrade helm upgrade --install makes of it: the pre-install hook runs,
// .Release.IsInstall is true, werf.io/deploy-on: install objects are deployed, and an object
// only the failed revision had leaves the release. The plan before it says the same.
func TestRetryAfterFailedFirstInstallIsAnInstall(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "retry", map[string]string{
		"values.yaml":        "broken: false\n",
		"templates/web.yaml": appDeployment("web", "", `converge.test/behaviour: {{ if .Values.broken }}image-pull-failure{{ end }}`, ""),
		"templates/cms.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: mode}
data: {isInstall: "{{ .Release.IsInstall }}", isUpgrade: "{{ .Release.IsUpgrade }}"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: seed
  annotations: {werf.io/deploy-on: install}
data: {a: b}
{{- if .Values.broken }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: leftover}
data: {a: b}
{{- end }}
`,
		"templates/hooks.yaml": hookJob("setup", "0"),
	})
	failed := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "broken=true").Run()
	if failed.ExitCode != 3 {
		t.Fatalf("the broken install: exit %d, want 3\n%s", failed.ExitCode, failed.Combined())
	}
	if got := statuses(helmHistory(t, env, "helm3", ns, "retry")); got != "failed" {
		t.Fatalf("history after the broken install: %s, want failed\n%s", got, failed.Combined())
	}

	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns).Run().Stdout
	for _, want := range []string{"* hook Job/setup", "- delete ConfigMap/leftover"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the retry's plan does not say %q:\n%s", want, plan)
		}
	}

	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "-o", "json").Succeed()
	ranHook := false
	for _, e := range parseStream(t, res.Stdout) {
		ranHook = ranHook || (e.Type == "stage" && e.Line == "hook pre-install: job/setup")
	}
	if !ranHook {
		t.Errorf("the retry did not run the pre-install hook:\n%s", res.Stdout)
	}
	if got := jsonPath(t, env, ns, "configmap/mode", "{.data.isInstall} {.data.isUpgrade}"); got != "true false" {
		t.Errorf(".Release.IsInstall .Release.IsUpgrade rendered %q, want true false", got)
	}
	names := env.Kubectl(t, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}")
	if !strings.Contains(names, "seed") || strings.Contains(names, "leftover") {
		t.Errorf("configmaps after the retry: %q, want seed (deploy-on: install) and no leftover", names)
	}
	revs := helmHistory(t, env, "helm3", ns, "retry")
	if got := statuses(revs); got != "failed,deployed" || revs[1].Revision != 2 {
		t.Fatalf("history after the retry: %s (%+v), want failed, then deployed as revision 2", got, revs)
	}
}

// TestWerfProjectIsGiterministicByDefault: a werf project (its commit holds werf.yaml) is
// read from its commit, as werf reads it, without werf-giterminism.yaml or --git-ref: an
// uncommitted change stops the command naming the file; --dev reads the work tree, and
// --loose-giterminism the file system. A plain chart in a repository is read from the file
// system (TestKubectlConvergeGiterminism).
func TestWerfProjectIsGiterministicByDefault(t *testing.T) {
	env := harness.Get(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "werf.yaml"), "project: gitdefault\nconfigVersion: 1\n")
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "greeting: committed\n")
	writeFile(t, filepath.Join(dir, ".helm", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: greeting}\ndata: {greeting: {{ .Values.greeting | quote }}}\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "werf project")
	render := func(args ...string) harness.Result {
		return env.Command(t, "kubectl", append([]string{"converge", "render"}, args...)...).Dir(dir).Run()
	}
	if res := render(); res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "committed"`) {
		t.Fatalf("the committed werf project: exit %d\n%s", res.ExitCode, res.Combined())
	}
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "greeting: uncommitted\n")
	if res := render(); res.ExitCode != 64 || !strings.Contains(res.Stderr, `".helm/values.yaml" (modified)`) {
		t.Fatalf("an uncommitted change in a werf project: exit %d, want 64 naming .helm/values.yaml\n%s", res.ExitCode, res.Combined())
	}
	for _, flag := range []string{"--dev", "--loose-giterminism"} {
		if res := render(flag); res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "uncommitted"`) {
			t.Fatalf("%s: exit %d, want the work tree rendered\n%s", flag, res.ExitCode, res.Combined())
		}
	}
}
