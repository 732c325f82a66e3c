package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// These tests prove that the local cluster behaves like a real one: the control plane runs
// controllers and the scheduler, and kwok's stages make pods succeed and fail as real
// workloads do. Every later end-to-end test relies on that.

func TestClusterReportsPinnedVersion(t *testing.T) {
	env := harness.Get(t)
	out := env.Kubectl(t, "version", "-o", "json")
	if !strings.Contains(out, `"gitVersion": "v1.37.2"`) || !strings.Contains(out, `"serverVersion"`) {
		t.Fatalf("kubectl version does not report server v1.37.2:\n%s", out)
	}
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, deployment("web", 3, nil, ""))
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=60s")
	ready := env.Kubectl(t, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}")
	if ready != "3" {
		t.Fatalf("deployment/web has %q ready replicas, want 3", ready)
	}
}

func TestImagePullFailureShowsBackOff(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, pod("pull", map[string]string{"converge.test/behaviour": "image-pull-failure"}, ""))
	waitForWaitingReason(t, env, ns, "pull", "ImagePullBackOff")
	if phase := env.Kubectl(t, "-n", ns, "get", "pod", "pull", "-o", "jsonpath={.status.phase}"); phase != "Pending" {
		t.Fatalf("pod with a failing image pull is %q, want Pending", phase)
	}
	waitForEvent(t, env, ns, "pull", "Failed", "Failed to pull image")
}

func TestCrashLoopRestartsGrow(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, pod("crasher", map[string]string{"converge.test/behaviour": "crash-loop"}, "crash"))
	waitForWaitingReason(t, env, ns, "crasher", "CrashLoopBackOff")
	harness.Eventually(t, 30*time.Second, func() string {
		out := env.Kubectl(t, "-n", ns, "get", "pod", "crasher", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
		if n, _ := strconv.Atoi(out); n < 2 {
			return fmt.Sprintf("restartCount is %q, want it to grow to at least 2", out)
		}
		return ""
	})
	exit := env.Kubectl(t, "-n", ns, "get", "pod", "crasher", "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}")
	if exit != "1" {
		t.Fatalf("last termination exit code is %q, want 1", exit)
	}
	waitForEvent(t, env, ns, "crasher", "BackOff", "Back-off restarting failed container")
	logs := env.Kubectl(t, "-n", ns, "logs", "crasher", "--previous")
	if !strings.Contains(logs, "connect to database at db:5432: connection refused") {
		t.Fatalf("previous logs of the crashing container miss the crash reason:\n%s", logs)
	}
}

func TestNeverReadyPodStaysUnready(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, pod("stuck", map[string]string{"converge.test/behaviour": "never-ready"}, ""))
	waitForEvent(t, env, ns, "stuck", "Unhealthy", "Readiness probe failed")
	out := env.Kubectl(t, "-n", ns, "get", "pod", "stuck", "-o", `jsonpath={.status.phase} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].state.running.startedAt}`)
	fields := strings.Fields(out)
	if len(fields) != 3 || fields[0] != "Running" || fields[1] != "False" {
		t.Fatalf("never-ready pod is %q, want Running, Ready=False with a running container", out)
	}
}

func TestSlowStartBecomesReadyAfterDelay(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	start := time.Now()
	env.Apply(t, ns, pod("slow", map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "4s"}, ""))
	harness.Eventually(t, 20*time.Second, func() string {
		phase := env.Kubectl(t, "-n", ns, "get", "pod", "slow", "-o", "jsonpath={.status.phase}")
		if phase != "Running" {
			return "pod is " + phase + ", want Running"
		}
		return ""
	})
	if ready := env.Kubectl(t, "-n", ns, "get", "pod", "slow", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready == "True" && time.Since(start) < 3*time.Second {
		t.Fatalf("slow-start pod was ready after %s, before its 4s start delay", time.Since(start))
	}
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=Ready", "pod/slow", "--timeout=30s")
	if elapsed := time.Since(start); elapsed < 4*time.Second {
		t.Fatalf("slow-start pod became ready after %s, want at least its 4s start delay", elapsed)
	}
}

func TestJobsCompleteOrFail(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, job("migrate", nil))
	env.Apply(t, ns, job("broken", map[string]string{"converge.test/behaviour": "job-failure"}))
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=Complete", "job/migrate", "--timeout=60s")
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=Failed", "job/broken", "--timeout=60s")
	out := env.Kubectl(t, "-n", ns, "get", "pods", "-l", "job-name=broken", "-o", "jsonpath={.items[0].status.phase} {.items[0].status.containerStatuses[0].state.terminated.exitCode}")
	if out != "Failed 1" {
		t.Fatalf("failed Job's pod is %q, want \"Failed 1\"", out)
	}
	logs := env.Kubectl(t, "-n", ns, "logs", "job/migrate")
	if !strings.Contains(logs, "applied migration 0001_init") {
		t.Fatalf("Job logs miss the configured lines:\n%s", logs)
	}
}

func TestUnsatisfiableNodeSelectorIsFailedScheduling(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, deployment("nowhere", 1, nil, "  nodeSelector:\n    disk: does-not-exist\n"))
	harness.Eventually(t, 60*time.Second, func() string {
		out := env.Kubectl(t, "-n", ns, "get", "events", "--field-selector", "reason=FailedScheduling", "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
		if !strings.Contains(out, "didn't match Pod's node affinity/selector") {
			return fmt.Sprintf("no FailedScheduling event naming the node selector yet; events: %q", out)
		}
		return ""
	})
}

func TestLogsServeConfiguredLines(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, pod("web", nil, ""))
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
	logs := env.Kubectl(t, "-n", ns, "logs", "web")
	for _, line := range []string{"starting app version 1.0.0", "listening on :8080", "ready to serve requests"} {
		if !strings.Contains(logs, line) {
			t.Fatalf("kubectl logs misses %q:\n%s", line, logs)
		}
	}
	tail := env.Kubectl(t, "-n", ns, "logs", "web", "--tail=1")
	if strings.TrimSpace(tail) != "ready to serve requests" {
		t.Fatalf("kubectl logs --tail=1 = %q, want the last configured line", tail)
	}
}

func waitForWaitingReason(t *testing.T, env *harness.Env, ns, pod, reason string) {
	t.Helper()
	harness.Eventually(t, 60*time.Second, func() string {
		got := env.Kubectl(t, "-n", ns, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")
		if got != reason {
			return fmt.Sprintf("pod/%s container waits with %q, want %q", pod, got, reason)
		}
		return ""
	})
}

func waitForEvent(t *testing.T, env *harness.Env, ns, object, reason, message string) {
	t.Helper()
	harness.Eventually(t, 60*time.Second, func() string {
		out := env.Kubectl(t, "-n", ns, "get", "events", "--field-selector", "involvedObject.name="+object+",reason="+reason, "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
		if !strings.Contains(out, message) {
			return fmt.Sprintf("no %s event with %q for %s; events: %q", reason, message, object, out)
		}
		return ""
	})
}

func annotationsYAML(annotations map[string]string, indent string) string {
	if len(annotations) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(indent + "annotations:\n")
	for k, v := range annotations {
		fmt.Fprintf(&b, "%s  %s: %q\n", indent, k, v)
	}
	return b.String()
}

func pod(name string, annotations map[string]string, container string) string {
	if container == "" {
		container = "app"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
%sspec:
  containers:
  - name: %s
    image: registry.example.com/app:1.0.0
`, name, annotationsYAML(annotations, "  "), container)
}

func deployment(name string, replicas int, annotations map[string]string, podSpecExtra string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
%[3]s    spec:
      containers:
      - name: app
        image: registry.example.com/app:1.0.0
%[4]s`, name, replicas, annotationsYAML(annotations, "      "), indent(podSpecExtra, "    "))
}

func job(name string, annotations map[string]string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %[1]s
spec:
  backoffLimit: 0
  template:
    metadata:
%[2]s    spec:
      restartPolicy: Never
      containers:
      - name: job
        image: registry.example.com/migrate:1.0.0
`, name, orEmptyMap(annotationsYAML(annotations, "      "), "      "))
}

func orEmptyMap(yaml, indent string) string {
	if yaml == "" {
		return indent + "labels: {}\n"
	}
	return yaml
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
