package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// chartWith writes a chart named app whose only template holds manifests.
func chartWith(t *testing.T, manifests string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: app\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(dir, "templates", "objects.yaml"), manifests)
	return dir
}

// workload is a Deployment whose pods carry the given pod annotations and container name.
func workload(name string, replicas int, annotations map[string]string, podAnnotations map[string]string, container, podSpecExtra string) string {
	if container == "" {
		container = "app"
	}
	return fmt.Sprintf(`---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
%[3]sspec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata:
      labels: {app: %[1]s}
%[4]s    spec:
%[6]s      containers: [{name: %[5]s, image: registry.example.com/%[1]s:1}]
`, name, replicas, annotationsYAML(annotations, "  "), annotationsYAML(podAnnotations, "      "), container, podSpecExtra)
}

func healthy(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(workload(fmt.Sprintf("healthy-%d", i), 1, nil, nil, "", ""))
	}
	return b.String()
}

// TestTrackingFailsFastWithTheReason: each failure is reported with its reason and where it
// happened, the converge exits 3 and the revision is recorded as failed.
func TestTrackingFailsFastWithTheReason(t *testing.T) {
	env := harness.Get(t)
	behaviour := func(b string) map[string]string { return map[string]string{"converge.test/behaviour": b} }
	tests := []struct {
		name    string
		objects string
		quota   bool
		want    []string
	}{
		{name: "unschedulable", objects: workload("nowhere", 1, nil, nil, "", "      nodeSelector: {disk: ssd}\n"),
			want: []string{"deploy/nowhere FAILED", "Unschedulable", "didn't match Pod's node affinity/selector", "pod nowhere-"}},
		{name: "image pull failure", objects: workload("pull", 1, nil, behaviour("image-pull-failure"), "", ""),
			want: []string{"deploy/pull FAILED", "container app", "ErrImagePull", `registry.example.com/pull:1`, "not found"}},
		{name: "crash loop", objects: workload("crasher", 1, nil, behaviour("crash-loop"), "crash", ""),
			want: []string{"deploy/crasher FAILED", "container crash", "CrashLoopBackOff", "exit code 1", "connect to database at db:5432: connection refused"}},
		{name: "failed job", objects: "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  backoffLimit: 0\n  template:\n    metadata:\n      annotations: {converge.test/behaviour: job-failure}\n    spec:\n      restartPolicy: Never\n      containers: [{name: job, image: registry.example.com/migrate:1}]\n",
			want: []string{"job/migrate FAILED", "BackoffLimitExceeded", "container job", "exited with code 1", "applied migration 0001_init"}},
		{name: "missing ConfigMap key", objects: workload("configless", 1, nil, behaviour("config-error"), "", ""),
			want: []string{"deploy/configless FAILED", "CreateContainerConfigError", "couldn't find key database-url in ConfigMap app-config", "container app"}},
		{name: "quota", objects: workload("greedy", 3, nil, nil, "", ""), quota: true,
			want: []string{"deploy/greedy FAILED", "FailedCreate", "exceeded quota"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			if tt.quota {
				env.Kubectl(t, "-n", ns, "create", "quota", "pods", "--hard=pods=2")
			}
			objects := tt.objects
			if !tt.quota {
				objects = healthy(2) + objects
			}
			chart := chartWith(t, objects)
			res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "2m").Run()
			if res.ExitCode != 3 {
				t.Fatalf("exit code %d, want 3 (deploy failed)\n%s", res.ExitCode, res.Stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if t.Failed() {
				t.Fatalf("output:\n%s", res.Stderr)
			}
			last := strings.TrimSpace(res.Stderr[strings.LastIndex(strings.TrimSpace(res.Stderr), "\n")+1:])
			if !strings.HasPrefix(last, "Error: ") || strings.Contains(last, "healthy-") {
				t.Fatalf("the last line should be the error naming only what failed, got %q", last)
			}
			if got := statuses(helmHistory(t, env, "helm3", ns, "app")); got != "failed" {
				t.Fatalf("release history after a failed deploy = %s, want failed", got)
			}
		})
	}
}

func TestSlowStartWithFailingProbesSucceeds(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("slow", 2, nil, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "20s"}, "", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Run()
	if res.ExitCode != 0 {
		t.Fatalf("slow start failed the deploy: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "Unhealthy: Readiness probe failed") || !strings.Contains(res.Stderr, "deploy/slow ready") {
		t.Fatalf("want the probe failures shown and the Deployment ready:\n%s", res.Stderr)
	}
}

func TestFailuresAllowedPerReplicaZeroFailsOnFirstCrash(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("strict", 1, map[string]string{"werf.io/failures-allowed-per-replica": "0"}, map[string]string{"converge.test/behaviour": "crash-loop"}, "crash", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "restarted 1 times") {
		t.Fatalf("want a failure at the first restart: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}

func TestFailModeAndTerminationModeAnnotations(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, healthy(1)+
		workload("ignored", 1, map[string]string{"werf.io/fail-mode": "IgnoreAndContinueDeployProcess"}, map[string]string{"converge.test/behaviour": "image-pull-failure"}, "", "")+
		workload("background", 1, map[string]string{"werf.io/track-termination-mode": "NonBlocking"}, map[string]string{"converge.test/behaviour": "never-ready"}, "", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "1m").Run()
	if res.ExitCode != 0 {
		t.Fatalf("ignored failure and non-blocking object should not fail the deploy: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "deploy/ignored skipped") || !strings.Contains(res.Stderr, "ErrImagePull") {
		t.Fatalf("the ignored failure should still be shown:\n%s", res.Stderr)
	}
	if strings.Contains(res.Stderr, "deploy/background ready") {
		t.Fatalf("the never-ready NonBlocking object cannot be ready:\n%s", res.Stderr)
	}
	bad := chartWith(t, workload("typo", 1, map[string]string{"werf.io/fail-mode": "IgnoreEverything"}, nil, "", ""))
	res = env.Command(t, "kubectl", "converge", bad, "-n", ns, "--release", "typo").Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "werf.io/fail-mode") || !strings.Contains(res.Stderr, `"IgnoreEverything"`) {
		t.Fatalf("an invalid annotation must be rejected naming it: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if out := env.Command(t, "kubectl", "-n", ns, "get", "deployment", "typo").Run(); out.ExitCode == 0 {
		t.Fatalf("the object with the invalid annotation was applied")
	}
}

func TestLogAnnotationsFilterPrintedLogs(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t,
		workload("regex", 1, map[string]string{"werf.io/log-regex": "listening.*"}, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "3s"}, "", "")+
			workload("skipped", 1, map[string]string{"werf.io/skip-logs": "true"}, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "3s"}, "", "")+
			workload("minus", 1, map[string]string{"werf.io/log-regex-skip": "^(starting|loaded)"}, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "3s"}, "", "")+
			workload("minusfor", 1, map[string]string{"werf.io/log-regex-skip-for-app": "^(starting|loaded)"}, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "3s"}, "", "")+
			workload("minusother", 1, map[string]string{"werf.io/log-regex-skip-for-sidecar": "^(starting|loaded)"}, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "3s"}, "", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Succeed()
	// The printed log lines, per object, without timestamps and generated pod names.
	logLines := map[string][]string{}
	for _, line := range strings.Split(res.Stderr, "\n") {
		if i := strings.Index(line, " | "); i > 0 {
			fields := strings.Fields(line[:i])
			logLines[fields[1]] = append(logLines[fields[1]], fields[3]+" | "+line[i+3:])
		}
	}
	var b strings.Builder
	// nelm's werf.io/log-regex-skip-for-<container>: deploy/minusfor skips as deploy/minus does;
	// the annotation of another container (deploy/minusother) leaves app's lines alone.
	for _, obj := range []string{"deploy/minus", "deploy/minusfor", "deploy/minusother", "deploy/regex", "deploy/skipped"} {
		fmt.Fprintf(&b, "%s:\n", obj)
		for _, l := range logLines[obj] {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	goldenIn(t, "tracking", "log-filters", b.String())
}

func TestFailureRenderedInJSONAndTTY(t *testing.T) {
	env := harness.Get(t)
	chart := chartWith(t, healthy(1)+workload("pull", 1, nil, map[string]string{"converge.test/behaviour": "image-pull-failure"}, "", ""))

	ns := env.Namespace(t)
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "-o", "json").Run()
	if res.ExitCode != 3 {
		t.Fatalf("json mode: exit %d\n%s", res.ExitCode, res.Combined())
	}
	var sawFailure, sawResult bool
	scanner := bufio.NewScanner(strings.NewReader(res.Stdout))
	for scanner.Scan() {
		var e map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", scanner.Text(), err)
		}
		if e["type"] == "status" && strings.Contains(scanner.Text(), `"reason":"ErrImagePull"`) {
			sawFailure = true
		}
		if e["type"] == "result" {
			sawResult = true
		}
	}
	if !sawFailure || !sawResult {
		t.Fatalf("JSON lines lack the failure (%v) or the result (%v):\n%s", sawFailure, sawResult, res.Stdout)
	}

	// Under a pseudo-terminal (script(1)), the TTY renderer redraws its table in place.
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) is needed to run converge under a pseudo-terminal: %v", err)
	}
	ns2 := env.Namespace(t)
	command := fmt.Sprintf("kubectl converge %s -n %s --color never", chart, ns2)
	tty := env.Command(t, "script", "-qec", command, "/dev/null").Env("TERM", "xterm").Run()
	if tty.ExitCode != 3 {
		t.Fatalf("tty mode: exit %d\n%s", tty.ExitCode, tty.Combined())
	}
	out := tty.Stdout
	if !strings.Contains(out, "\x1b[") || !strings.Contains(out, "[J") {
		t.Fatalf("no in-place redraw (cursor movement) in TTY mode:\n%q", out)
	}
	if !strings.Contains(out, "FAILED") || !strings.Contains(out, "ErrImagePull") || !strings.Contains(out, "RESOURCE") {
		t.Fatalf("TTY output lacks the failure or the summary:\n%s", out)
	}
	if strings.Contains(out, "[00:") {
		t.Fatalf("TTY mode printed plain CI lines:\n%s", out)
	}
}

// namespacedWatches sums the API server's open WATCH requests scoped to a namespace; the
// control plane's own controllers watch cluster-wide, so these are the tracker's.
func namespacedWatches(t *testing.T, env *harness.Env) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(env.Kubectl(t, "get", "--raw", "/metrics"), "\n") {
		if strings.HasPrefix(line, "apiserver_longrunning_requests{") && strings.Contains(line, `verb="WATCH"`) && strings.Contains(line, `scope="namespace"`) {
			var n int
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n)
			total += n
		}
	}
	return total
}

// TestTracking200DeploymentsUsesFewWatches: watches scale with kinds, not with objects. The
// pods start long after the test has counted, so the count never races their readiness;
// the converge is interrupted once counted.
func TestTracking200DeploymentsUsesFewWatches(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	var b strings.Builder
	for i := 0; i < 200; i++ {
		b.WriteString(workload(fmt.Sprintf("svc-%03d", i), 1, nil, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "30m"}, "", ""))
	}
	chart := chartWith(t, b.String())
	before := namespacedWatches(t, env)
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "1h").Start()
	harness.Eventually(t, 90*time.Second, func() string {
		if strings.Contains(run.Stderr(), "waiting: available 0/1") {
			return ""
		}
		return "converge has not started tracking yet"
	})
	during := namespacedWatches(t, env) - before
	if err := run.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	res := run.Wait()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "deploy/svc-000") {
		t.Fatalf("the interrupted converge of 200 Deployments: exit %d, want a failure naming what it waited for\n%s", res.ExitCode, tail(res.Stderr, 40))
	}
	if during < 3 || during > 6 {
		t.Fatalf("tracking 200 Deployments held %d namespaced watches, want the 4 of deployments, replicasets, pods and events", during)
	}
	t.Logf("tracking 200 Deployments held %d watches", during)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestTrackCommandFollowsExistingObjects(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, deployment("web", 2, nil, ""))
	env.Apply(t, ns, deployment("broken", 1, map[string]string{"converge.test/behaviour": "crash-loop"}, ""))
	ok := env.Command(t, "kubectl", "converge", "track", "deploy/web", "-n", ns, "--progress", "plain").Run()
	if ok.ExitCode != 0 || !strings.Contains(ok.Stderr, "deploy/web ready") {
		t.Fatalf("track deploy/web: exit %d\n%s", ok.ExitCode, ok.Stderr)
	}
	bad := env.Command(t, "kubectl", "converge", "track", "deployments.apps/web", "deploy/broken", "-n", ns, "--progress", "plain").Run()
	if bad.ExitCode != 3 || !strings.Contains(bad.Stderr, "deploy/broken FAILED") || !strings.Contains(bad.Stderr, "CrashLoopBackOff") {
		t.Fatalf("track of a crashing Deployment: exit %d\n%s", bad.ExitCode, bad.Stderr)
	}
	usage := env.Command(t, "kubectl", "converge", "track", "web", "-n", ns).Run()
	if usage.ExitCode != 64 || !strings.Contains(usage.Stderr, "want KIND/NAME") {
		t.Fatalf("track without a kind: exit %d\n%s", usage.ExitCode, usage.Stderr)
	}
}

// TestTrackingSurvivesAPIServerRestart: the watches resume after the control plane goes down
// and comes back during tracking, and the converge succeeds.
func TestTrackingSurvivesAPIServerRestart(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("patient", 2, nil, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "15s"}, "", ""))
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "3m").Start()
	harness.Eventually(t, 60*time.Second, func() string {
		if strings.Contains(run.Stderr(), "deploy/patient waiting") {
			return ""
		}
		return "converge has not started tracking yet"
	})
	env.RestartAPIServer(t)
	res := run.Wait()
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, "deploy/patient ready") {
		t.Fatalf("converge did not survive the API server restart: exit %d\n%s", res.ExitCode, tail(res.Stderr, 30))
	}
}

func TestNoActivityTimeoutServiceMessagesAndNoPodLogs(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t,
		workload("chatty", 1, map[string]string{"werf.io/show-service-messages": "true"}, nil, "", "")+
			workload("idle", 1, map[string]string{"werf.io/no-activity-timeout": "5s"}, map[string]string{"converge.test/behaviour": "never-ready"}, "", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--no-pod-logs", "--timeout", "2m").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "deploy/idle FAILED: NoActivity: no progress for 5s") {
		t.Fatalf("want deploy/idle to fail after 5s without progress: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "deploy/chatty ScalingReplicaSet: Scaled up replica set") {
		t.Fatalf("show-service-messages should print the Normal events of deploy/chatty:\n%s", res.Stderr)
	}
	if strings.Contains(res.Stderr, " | ") {
		t.Fatalf("--no-pod-logs printed pod logs:\n%s", res.Stderr)
	}
}

// TestLogsFollowTheNewPodsOnly: an upgrade follows the logs of the new ReplicaSet's pods
// only; a pod of the old one, about to go, is not streamed (each stream is a connection the
// API server proxies to the pod's node while the rollout needs it), even when tracking
// looks before the controller has seen the new pod template.
func TestLogsFollowTheNewPodsOnly(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	var mu sync.Mutex
	var streamed []string
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if prefix := "/api/v1/namespaces/" + ns + "/pods/"; strings.HasPrefix(r.URL.Path, prefix) && strings.HasSuffix(r.URL.Path, "/log") {
			mu.Lock()
			streamed = append(streamed, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), "/log"))
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	manifests := func(rev string) string {
		var b strings.Builder
		for i := range 10 {
			b.WriteString(workload(fmt.Sprintf("web-%d", i), 1, nil, map[string]string{"rev": rev}, "", ""))
		}
		return b.String()
	}
	chart := chartWith(t, manifests("1"))
	if res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Run(); res.ExitCode != 0 {
		t.Fatalf("install: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	old := map[string]bool{}
	for _, rs := range strings.Fields(env.Kubectl(t, "-n", ns, "get", "replicasets", "-o", "name")) {
		old[strings.TrimPrefix(rs, "replicaset.apps/")] = true
	}
	writeFile(t, filepath.Join(chart, "templates", "objects.yaml"), manifests("2"))
	if res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Env("KUBECONFIG", proxy.Kubeconfig).Run(); res.ExitCode != 0 {
		t.Fatalf("upgrade: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(streamed) == 0 {
		t.Fatal("the upgrade followed no pod's logs")
	}
	for _, pod := range streamed {
		// A pod is named after its ReplicaSet and a suffix of its own.
		if rs := pod[:strings.LastIndex(pod, "-")]; old[rs] {
			t.Fatalf("the logs of pod %s of the old ReplicaSet %s were followed; all followed: %v", pod, rs, streamed)
		}
	}
}
