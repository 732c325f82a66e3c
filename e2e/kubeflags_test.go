package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestKubectlConnectionFlags: --kubeconfig and --context are resolved as kubectl resolves them,
// the context's namespace included, and the release records follow HELM_DRIVER.
func TestKubectlConnectionFlags(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	raw, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "config")
	writeFile(t, kubeconfig, string(raw))
	cluster := strings.TrimSpace(env.Command(t, "kubectl", "config", "view", "--kubeconfig", kubeconfig, "--minify", "-o", "jsonpath={.contexts[0].context.cluster}").Succeed().Stdout)
	user := strings.TrimSpace(env.Command(t, "kubectl", "config", "view", "--kubeconfig", kubeconfig, "--minify", "-o", "jsonpath={.contexts[0].context.user}").Succeed().Stdout)
	env.Command(t, "kubectl", "config", "set-context", "shop-ctx", "--kubeconfig", kubeconfig, "--cluster", cluster, "--user", user, "--namespace", ns).Succeed()

	chart := shopChart(t, env)
	env.Command(t, "kubectl", "converge", chart, "--kubeconfig", kubeconfig, "--context", "shop-ctx").
		Env("KUBECONFIG", "/nonexistent").Env("HELM_DRIVER", "configmap").Succeed()
	if got := jsonPath(t, env, ns, "configmap/sh.helm.release.v1.shop.v1", "{.metadata.labels.owner}"); got != "helm" {
		t.Fatalf("release record not stored as a ConfigMap in the context's namespace (owner label %q)", got)
	}
	list := env.Command(t, "helm3", "list", "-n", ns, "-q").Env("HELM_DRIVER", "configmap").Succeed().Stdout
	if strings.TrimSpace(list) != "shop" {
		t.Fatalf("helm with HELM_DRIVER=configmap lists %q", list)
	}
	res := env.Command(t, "kubectl", "converge", chart, "--context", "no-such-context").Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "no-such-context") {
		t.Fatalf("unknown --context: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}
