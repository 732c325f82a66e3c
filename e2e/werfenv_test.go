package e2e

import (
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestWerfAutoRollbackVariable: a werf CI job's WERF_AUTO_ROLLBACK=true (and WERF_TIMEOUT in
// werf's seconds) reach kubectl converge: an upgrade whose Deployment never becomes ready
// times out and is rolled back to the revision before it.
func TestWerfAutoRollbackVariable(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "werfrb", map[string]string{
		"templates/app.yaml": appDeployment("app", "", `converge.test/behaviour: "{{ .Values.behaviour }}", version: "{{ .Values.version }}"`, ""),
		"values.yaml":        "behaviour: healthy\nversion: one\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "behaviour=never-ready,version=two").
		Env("WERF_AUTO_ROLLBACK", "true").Env("WERF_TIMEOUT", "15").Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "auto-rollback: revision 1 is live again as revision 3") {
		t.Fatalf("exit %d, want a failure rolled back to revision 1\n%s", res.ExitCode, res.Stderr)
	}
	if h := historyStatuses(t, env, ns, "werfrb"); h != "1:superseded 2:failed 3:deployed" {
		t.Fatalf("history %q, want 1:superseded 2:failed 3:deployed", h)
	}
	if got := jsonPath(t, env, ns, "deployment/app", "{.spec.template.metadata.annotations.version}"); got != "one" {
		t.Fatalf("live pod template version %q after the rollback, want one", got)
	}
}

// TestWerfReleasesHistoryMax: WERF_RELEASES_HISTORY_MAX trims the release history as werf's
// --releases-history-max does, and werf's flag name does the same.
func TestWerfReleasesHistoryMax(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "werfhist", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {n: \"{{ .Values.n }}\"}\n",
		"values.yaml":       "n: 0\n",
	})
	for _, n := range []string{"1", "2", "3", "4"} {
		env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "n="+n).Env("WERF_RELEASES_HISTORY_MAX", "3").Succeed()
	}
	if h := historyStatuses(t, env, ns, "werfhist"); h != "2:superseded 3:superseded 4:deployed" {
		t.Fatalf("history %q, want the last 3 revisions: 2:superseded 3:superseded 4:deployed", h)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "n=5", "--releases-history-max", "2").Succeed()
	if h := historyStatuses(t, env, ns, "werfhist"); h != "4:superseded 5:deployed" {
		t.Fatalf("history %q after --releases-history-max 2, want 4:superseded 5:deployed", h)
	}
}

// TestWerfRefusedVariable: a werf variable this tool cannot honour stops the converge before
// anything is deployed, with exit code 64 and one line naming what to use instead; one that
// changes only werf's own log is accepted with one note.
func TestWerfRefusedVariable(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "werfno", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns).Env("WERF_FOLLOW", "true").Run()
	want := "Error: WERF_FOLLOW (werf's --follow): converge deploys once: run it again on each new commit\n"
	if res.ExitCode != 64 || res.Stderr != want {
		t.Fatalf("exit %d, stderr %q; want 64 and %q", res.ExitCode, res.Stderr, want)
	}
	if out := env.Command(t, "kubectl", "-n", ns, "get", "configmap", "cm", "--ignore-not-found", "-o", "name").Succeed().Stdout; out != "" {
		t.Fatalf("the refused converge deployed %s", out)
	}
	res = env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Env("WERF_LOG_TERMINAL_WIDTH", "95").Succeed()
	if n := strings.Count(res.Stderr, "note: werf's WERF_LOG_TERMINAL_WIDTH: no effect here, changes only werf's own log\n"); n != 1 {
		t.Fatalf("%d notes of WERF_LOG_TERMINAL_WIDTH, want 1\n%s", n, res.Stderr)
	}
}
