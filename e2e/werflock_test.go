package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/werf/lockgate"
	"github.com/werf/lockgate/pkg/distributed_locker"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// werfLocker is the lock werf and nelm take on a release, made by werf's own library
// (github.com/werf/lockgate v0.1.1, the version nelm pins) exactly as nelm's lock manager
// makes it: the Kubernetes locker on the ConfigMap werf-synchronization of the namespace.
func werfLocker(t *testing.T, env *harness.Env, ns string) lockgate.Locker {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	// nelm creates the ConfigMap before locking; lockgate itself expects it to exist.
	env.Apply(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: werf-synchronization}\n")
	return distributed_locker.NewKubernetesLocker(client, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "werf-synchronization", ns)
}

// TestWerfHoldsTheReleaseLock: while werf's library holds "release/<name>", converge waits and
// says so; it deploys only after werf let go.
func TestWerfHoldsTheReleaseLock(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	locker := werfLocker(t, env, ns)
	_, handle, err := locker.Acquire("release/werflocked", lockgate.AcquireOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chart := writeChart(t, "werflocked", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
	})
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Start()
	harness.Eventually(t, time.Minute, func() string {
		if !strings.Contains(run.Stderr(), `waiting for release "werflocked": locked by werf or nelm (werf lease `+handle.UUID) {
			return "converge has not said it waits for werf's lease:\n" + run.Stderr()
		}
		return ""
	})
	// lockgate renews its lease every 3 s with a TTL of 10 s: waiting past a TTL shows the
	// wait is for the live lease, not an expired one.
	time.Sleep(12 * time.Second)
	if out := env.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=werflocked", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("converge deployed while werf held the release: %s", out)
	}
	if err := locker.Release(handle); err != nil {
		t.Fatal(err)
	}
	if res := run.Wait(); res.ExitCode != 0 {
		t.Fatalf("converge after werf's release: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if h := historyStatuses(t, env, ns, "werflocked"); h != "1:deployed" {
		t.Fatalf("history %q, want 1:deployed", h)
	}
	if got := env.Kubectl(t, "-n", ns, "get", "configmap", "werf-synchronization", "-o", "jsonpath={.metadata.annotations}"); strings.Contains(got, "lockgate.io/") {
		t.Fatalf("converge left a werf lease behind: %s", got)
	}
}

// TestConvergeHoldsTheWerfLock: while converge deploys, werf's library cannot take the
// release's lock; it gets it once converge has finished the release.
func TestConvergeHoldsTheWerfLock(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	locker := werfLocker(t, env, ns)
	chart := writeChart(t, "convergelocked", map[string]string{
		"templates/app.yaml": appDeployment("slow", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 8s`, ""),
	})
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Start()
	waitForPending(t, env, ns, "convergelocked")
	acquired, handle, err := locker.Acquire("release/convergelocked", lockgate.AcquireOptions{NonBlocking: true})
	if err != nil {
		t.Fatal(err)
	}
	if acquired {
		_ = locker.Release(handle)
		t.Fatalf("werf's library took the lock of a release converge is deploying")
	}
	// Blocking, as werf waits: it returns once converge let go, and converge lets go only
	// after the release is recorded.
	if _, handle, err = locker.Acquire("release/convergelocked", lockgate.AcquireOptions{Timeout: 3 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	history := historyStatuses(t, env, ns, "convergelocked")
	if err := locker.Release(handle); err != nil {
		t.Fatal(err)
	}
	if history != "1:deployed" {
		t.Fatalf("werf got the lock while the release was %q, want 1:deployed", history)
	}
	if res := run.Wait(); res.ExitCode != 0 {
		t.Fatalf("converge: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}
