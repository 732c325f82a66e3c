package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// dismissProject writes a werf project whose chart has a Deployment hook with an empty
// delete policy (as werf's complex converge fixture has: Helm never deletes it), a hook kept
// by helm.sh/resource-policy and one owned by anyone (both deleted before they are created
// again, Helm's default policy), and an ordinary ConfigMap.
func dismissProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "werf.yaml"), "project: dismisshooks\nconfigVersion: 1\n")
	writeFile(t, filepath.Join(dir, ".helm", "templates", "hook.yaml"), `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hook-rootchart
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: ""
spec:
  replicas: 1
  selector: {matchLabels: {app: hook-rootchart}}
  template:
    metadata: {labels: {app: hook-rootchart}}
    spec:
      containers: [{name: app, image: registry.example.com/hook:1}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept-hook
  annotations: {helm.sh/hook: pre-install, helm.sh/resource-policy: keep}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: anyone-hook
  annotations: {helm.sh/hook: post-install, werf.io/ownership: anyone}
data: {a: b}
`)
	writeFile(t, filepath.Join(dir, ".helm", "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
	return dir
}

// TestDismissDeletesHooks: dismiss deletes the release's hooks as werf's dismiss does
// (--with-hooks, default true), so that converging the same project again creates them
// anew instead of failing on "already exists"; hooks kept by a resource policy or owned by
// anyone stay. --with-hooks=false and WERF_WITH_HOOKS=false leave them; werf's forms
// --release R --namespace N and --use-deploy-report name the release from anywhere.
func TestDismissDeletesHooks(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project := dismissProject(t)
	elsewhere := t.TempDir()
	const release = "dismisshooks-e2e"
	converge := func(extra ...string) {
		t.Helper()
		res := env.Command(t, "kubectl", append([]string{"converge", "-n", ns, "--env", "e2e", "--progress", "plain"}, extra...)...).Dir(project).Succeed()
		if !strings.Contains(res.Stderr, `release "`+release+`" revision 1 deployed`) {
			t.Fatalf("converge output:\n%s", res.Stderr)
		}
	}
	exists := func(object string) bool {
		t.Helper()
		return env.Command(t, "kubectl", "-n", ns, "get", object).Run().ExitCode == 0
	}
	deleteByHand := func(object string) {
		t.Helper()
		env.Kubectl(t, "-n", ns, "delete", object, "--wait=true")
	}

	converge()
	if !exists("deploy/hook-rootchart") || !exists("configmap/kept-hook") || !exists("configmap/anyone-hook") {
		t.Fatal("the hooks are not there after converge")
	}
	res := env.Command(t, "kubectl", "converge", "dismiss", "-n", ns, "--env", "e2e", "--progress", "plain").Dir(project).Succeed()
	if exists("deploy/hook-rootchart") || exists("configmap/settings") {
		t.Fatalf("the hook or the release's ConfigMap is still there after dismiss:\n%s", res.Stderr)
	}
	for _, line := range []string{`keep hook ConfigMap "kept-hook": it is annotated helm.sh/resource-policy: keep`, `keep ConfigMap "anyone-hook": it is annotated werf.io/ownership: anyone`, "deploy/hook-rootchart deleted"} {
		if !strings.Contains(res.Stderr, line) {
			t.Errorf("dismiss does not say %q:\n%s", line, res.Stderr)
		}
	}
	if !exists("configmap/kept-hook") || !exists("configmap/anyone-hook") {
		t.Fatal("dismiss deleted a hook annotated keep or owned by anyone")
	}
	// Without the hook deletion this failed: pre-install hooks failed: "hook-rootchart" already exists.
	converge()

	// --with-hooks=false leaves the hooks, as helm uninstall does.
	env.Command(t, "kubectl", "converge", "dismiss", "-n", ns, "--env", "e2e", "--with-hooks=false").Dir(project).Succeed()
	if !exists("deploy/hook-rootchart") || exists("configmap/settings") {
		t.Fatal("dismiss --with-hooks=false: want the hook kept and the release's objects gone")
	}
	deleteByHand("deploy/hook-rootchart")
	converge()

	// werf's --release R --namespace N, from a directory without the project, with werf's
	// variable saying to keep the hooks.
	env.Command(t, "kubectl", "converge", "dismiss", "--release", release, "--namespace", ns).Dir(elsewhere).Env("WERF_WITH_HOOKS", "false").Succeed()
	if !exists("deploy/hook-rootchart") || exists("configmap/settings") {
		t.Fatal("WERF_WITH_HOOKS=false dismiss --release --namespace: want the hook kept and the release's objects gone")
	}
	deleteByHand("deploy/hook-rootchart")

	// The release and namespace from the deploy report of the converge.
	report := filepath.Join(elsewhere, "report.json")
	converge("--save-report", report)
	res = env.Command(t, "kubectl", "converge", "dismiss", "--use-deploy-report", "--deploy-report-path", strings.TrimSuffix(report, ".json")).Dir(elsewhere).Succeed()
	if !strings.Contains(res.Stderr, `release "`+release+`" (revision 1) uninstalled from namespace "`+ns+`"`) || exists("deploy/hook-rootchart") || exists("configmap/settings") {
		t.Fatalf("dismiss --use-deploy-report: want the release and its hook gone:\n%s", res.Stderr)
	}
}

// TestAutoRollbackOfAFailedFirstInstallDeletesItsHooks: --auto-rollback uninstalls a first
// install that failed as dismiss does, hooks included, so that the next converge of the
// project creates them again instead of failing on "already exists".
func TestAutoRollbackOfAFailedFirstInstallDeletesItsHooks(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project := dismissProject(t)
	app := filepath.Join(project, ".helm", "templates", "app.yaml")
	writeFile(t, app, appDeployment("app", "", "converge.test/behaviour: crash-loop", ""))
	res := env.Command(t, "kubectl", "converge", "-n", ns, "--env", "e2e", "--auto-rollback", "--progress", "plain").Dir(project).Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "the failed first install was uninstalled") {
		t.Fatalf("a crash-looping first install with --auto-rollback: exit %d, want 3 and the install uninstalled\n%s", res.ExitCode, res.Stderr)
	}
	if env.Command(t, "kubectl", "-n", ns, "get", "deploy/hook-rootchart").Run().ExitCode == 0 {
		t.Fatalf("the hook of the failed first install is still there after its auto-rollback:\n%s", res.Stderr)
	}
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}
	env.Command(t, "kubectl", "converge", "-n", ns, "--env", "e2e").Dir(project).Succeed()
}

// TestDismissAfterAFailedUpgradeDeletesWhatItLeft: an upgrade that drops a ConfigMap and
// fails in its pre-upgrade hook never deletes it (what left the chart goes after the main
// stage), so the ConfigMap is still live and the release's; dismiss must delete it though
// Helm's uninstall reads only the failed revision's manifest. Without that, the next install
// took the ConfigMap over with its stale keys (as werf's complex fixture showed).
func TestDismissAfterAFailedUpgradeDeletesWhatItLeft(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := t.TempDir()
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: leftover\nversion: 0.1.0\n")
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n"
	}
	writeFile(t, filepath.Join(chart, "templates", "kept.yaml"), cm("kept"))
	writeFile(t, filepath.Join(chart, "templates", "dropped.yaml"), cm("dropped"))
	converge := func() harness.Result {
		return env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "leftover", "--progress", "plain", "--timeout", "120s").Run()
	}
	if res := converge(); res.ExitCode != 0 {
		t.Fatalf("first converge: exit %d\n%s", res.ExitCode, res.Combined())
	}
	if err := os.Remove(filepath.Join(chart, "templates", "dropped.yaml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(chart, "templates", "hook.yaml"), `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {helm.sh/hook: pre-upgrade}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {converge.test/behaviour: job-failure}
    spec:
      restartPolicy: Never
      containers: [{name: job, image: registry.example.com/migrate:1}]
`)
	if res := converge(); res.ExitCode == 0 {
		t.Fatalf("the upgrade with a failing pre-upgrade hook succeeded:\n%s", res.Combined())
	}
	if env.Command(t, "kubectl", "-n", ns, "get", "configmap/dropped").Run().ExitCode != 0 {
		t.Fatal("the failed upgrade deleted the ConfigMap it dropped (this test needs it left)")
	}
	res := env.Command(t, "kubectl", "converge", "dismiss", "leftover", "-n", ns, "--progress", "plain").Succeed()
	for _, object := range []string{"configmap/dropped", "configmap/kept"} {
		if env.Command(t, "kubectl", "-n", ns, "get", object).Run().ExitCode == 0 {
			t.Errorf("%s is still there after dismiss:\n%s", object, res.Stderr)
		}
	}
}
