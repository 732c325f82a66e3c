package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestFlakyAPIServerIsRetried puts a proxy before the API server that refuses every third
// request with 503 and every seventh with 429 (no Retry-After, as a load balancer or an
// overloaded aggregated API answers): the converge retries them and succeeds.
func TestFlakyAPIServerIsRetried(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	var seen, refused atomic.Int64
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		switch n := seen.Add(1); {
		case n%3 == 0:
			refused.Add(1)
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		case n%7 == 0:
			refused.Add(1)
			http.Error(w, "too many requests", http.StatusTooManyRequests)
		default:
			next.ServeHTTP(w, r)
		}
	})
	chart := filepath.Join(env.RepoRoot, "examples", "demo-app")
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "flaky").Env("KUBECONFIG", proxy.Kubeconfig).Run()
	if res.ExitCode != 0 {
		t.Fatalf("converge through the flaky proxy: exit %d after %d refused of %d requests\n%s", res.ExitCode, refused.Load(), seen.Load(), res.Stderr)
	}
	if refused.Load() < 5 {
		t.Fatalf("only %d requests were refused: the proxy did not test anything", refused.Load())
	}
	if h := historyStatuses(t, env, ns, "flaky"); h != "1:deployed" {
		t.Fatalf("history %q", h)
	}
}

// TestUnavailableAPIServerFailsClearly: an API server that answers only 503, and one that
// accepts connections but never answers, both fail the converge (rather than wait for it)
// with an error that says the API server cannot be reached.
func TestUnavailableAPIServerFailsClearly(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	down := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
	})
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	t.Cleanup(func() { silent.Close(); held.Wait() })
	held.Add(1)
	go func() {
		defer held.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	chart := filepath.Join(env.RepoRoot, "examples", "demo-app")
	for name, args := range map[string][]string{
		"503 only":      {"--kubeconfig", down.Kubeconfig},
		"never answers": {"--server", "https://" + silent.Addr().String(), "--insecure-skip-tls-verify"},
	} {
		// A converge that waits for the server instead of giving up is killed by the
		// command's bound and fails the test there; its length is no assertion, as a loaded
		// machine stretches it.
		res := env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns, "--release", "down"}, args...)...).Timeout(3 * time.Minute).Run()
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "cannot reach the Kubernetes API server") || strings.Count(strings.TrimSpace(res.Stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, want a one-line error saying the API server cannot be reached\n%s", name, res.ExitCode, res.Stderr)
		}
	}
}

// TestKilledAtAnyPointIsRecovered kills converges of one release with SIGKILL at several
// points (taking the lock, recording the revision, applying, tracking); after each, a plain
// converge succeeds, and the history ends deployed with no revision pending or missing.
func TestKilledAtAnyPointIsRecovered(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "killloop", map[string]string{
		"templates/app.yaml": appDeployment("app", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 2s, run: "{{ .Values.run }}"`, "") +
			`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {run: "{{ .Values.run }}"}
`,
		"values.yaml": "run: none\n",
	})
	for i, after := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second} {
		run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", fmt.Sprintf("run=killed-%d", i)).Start()
		time.Sleep(after)
		if err := run.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		run.Wait()
		res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", fmt.Sprintf("run=plain-%d", i), "--lock-timeout", "1m").Run()
		if res.ExitCode != 0 {
			t.Fatalf("converge after a SIGKILL at %s: exit %d\n%s", after, res.ExitCode, res.Stderr)
		}
		if got := jsonPath(t, env, ns, "configmap/settings", "{.data.run}"); got != fmt.Sprintf("plain-%d", i) {
			t.Fatalf("after the SIGKILL at %s the live ConfigMap says %q", after, got)
		}
		revs := helmHistory(t, env, "helm3", ns, "killloop")
		for j, r := range revs {
			last := j == len(revs)-1
			if r.Revision != j+1 || (last && r.Status != "deployed") || (!last && r.Status != "superseded" && r.Status != "failed") {
				t.Fatalf("after the SIGKILL at %s the history is inconsistent: %s", after, statuses(revs))
			}
		}
	}
}

// TestConcurrentConvergesOfOneAndManyReleases starts five converges of one release and three
// of other releases at once: the five run one after another (five revisions, none lost, the
// last deployed), the three others run alongside, not waiting for any lock.
func TestConcurrentConvergesOfOneAndManyReleases(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "crowd", map[string]string{
		"templates/app.yaml": appDeployment("{{ .Release.Name }}", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 3s, run: "{{ .Values.run }}"`, ""),
		"values.yaml":        "run: none\n",
	})
	var same, others []*harness.Running
	for i := range 5 {
		same = append(same, env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "shared", "--set", fmt.Sprintf("run=%d", i), "--lock-timeout", "5m").Start())
	}
	for i := range 3 {
		others = append(others, env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", fmt.Sprintf("solo-%d", i)).Start())
	}
	for i, r := range append(same, others...) {
		if res := r.Wait(); res.ExitCode != 0 {
			t.Fatalf("converge %d: exit %d\n%s", i, res.ExitCode, res.Stderr)
		} else if i >= len(same) && strings.Contains(res.Stderr, "waiting for release") {
			t.Fatalf("a converge of its own release waited for a lock:\n%s", res.Stderr)
		}
	}
	if h := historyStatuses(t, env, ns, "shared"); h != "1:superseded 2:superseded 3:superseded 4:superseded 5:deployed" {
		t.Fatalf("history of the shared release %q", h)
	}
	// Run alongside, every one of the three is created before the first of them becomes
	// available (a slow start of 3 s); one after another, the next would be created only
	// after the one before was available.
	var lastCreated, firstAvailable time.Time
	for i := range 3 {
		object := fmt.Sprintf("deployment/solo-%d", i)
		if created := creationTime(t, env, ns, object); created.After(lastCreated) {
			lastCreated = created
		}
		available := timestampAt(t, env, ns, object, `{.status.conditions[?(@.type=="Available")].lastTransitionTime}`)
		if firstAvailable.IsZero() || available.Before(firstAvailable) {
			firstAvailable = available
		}
	}
	if lastCreated.After(firstAvailable) {
		t.Fatalf("a Deployment of the other releases was created at %s, after another was available at %s: they did not run alongside", lastCreated.Format(time.RFC3339), firstAvailable.Format(time.RFC3339))
	}
	if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("locks left behind: %s", out)
	}
}

// TestInterruptedDuringApply sends SIGINT and SIGTERM while a converge is still applying:
// once while a pre-install hook runs, once while an object waits for an external
// dependency. Each run ends with its revision failed and the lock released.
func TestInterruptedDuringApply(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	hook := writeChart(t, "inhook", map[string]string{
		"templates/hook.yaml": strings.Replace(hookJob("migrate", "0"), "run-time: 1s", "run-time: 60s", 1),
		"templates/app.yaml":  appDeployment("app", "", "", ""),
	})
	waiting := writeChart(t, "independency", map[string]string{
		"templates/app.yaml": appDeployment("app", `db.external-dependency.werf.io/resource: secret/not-yet`, "", ""),
	})
	for _, tc := range []struct {
		chart, release, stage string
		sig                   syscall.Signal
	}{
		{hook, "inhook", "hook", syscall.SIGINT},
		{waiting, "independency", "waiting for", syscall.SIGTERM},
	} {
		run := env.Command(t, "kubectl", "converge", tc.chart, "-n", ns, "--release", tc.release).Start()
		harness.Eventually(t, 30*time.Second, func() string {
			if !strings.Contains(run.Stderr(), tc.stage) {
				return "not in the apply stage yet:\n" + run.Stderr()
			}
			return ""
		})
		if err := run.Signal(tc.sig); err != nil {
			t.Fatal(err)
		}
		res := run.Wait()
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "interrupted") {
			t.Fatalf("%s during %s: exit %d\n%s", tc.sig, tc.stage, res.ExitCode, res.Stderr)
		}
		if h := historyStatuses(t, env, ns, tc.release); h != "1:failed" {
			t.Fatalf("%s during %s: history %q, want 1:failed", tc.sig, tc.stage, h)
		}
		if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
			t.Fatalf("%s during %s: the lock is still there: %s", tc.sig, tc.stage, out)
		}
	}
}
