package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

func TestConvergeInstallsExampleApp(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	res := env.Command(t, "kubectl", "converge", filepath.Join(env.RepoRoot, "examples", "demo-app"), "-n", ns).Succeed()
	if !strings.Contains(res.Stdout, "demo-app is running in namespace "+ns) {
		t.Fatalf("converge did not print the chart's NOTES:\n%s", res.Combined())
	}
	if !strings.Contains(res.Stderr, `release "demo-app" revision 1 deployed`) {
		t.Fatalf("converge did not report the deployed revision:\n%s", res.Stderr)
	}
	ready := env.Kubectl(t, "-n", ns, "get", "deployment", "demo-app-web", "-o", "jsonpath={.status.readyReplicas}")
	if ready != "2" {
		t.Fatalf("demo-app-web has %q ready replicas after converge, want 2", ready)
	}
	// The release is stored the way Helm stores it, so helm itself lists it.
	list := env.Command(t, "helm3", "list", "-n", ns, "-o", "json").Succeed()
	if !strings.Contains(list.Stdout, `"name":"demo-app"`) || !strings.Contains(list.Stdout, `"status":"deployed"`) {
		t.Fatalf("helm list does not show the converged release:\n%s", list.Stdout)
	}
}

func TestConvergeWithoutChartIsUsageError(t *testing.T) {
	env := harness.Get(t)
	res := env.Command(t, "kubectl", "converge", "-n", "default").Dir(t.TempDir()).Run()
	if res.ExitCode != 64 {
		t.Fatalf("exit code %d, want 64 (usage)\n%s", res.ExitCode, res.Combined())
	}
	if !strings.Contains(res.Stderr, "no chart found") || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Fatalf("want a one-line error naming the missing chart, got:\n%s", res.Stderr)
	}
}
