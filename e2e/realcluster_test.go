package e2e

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// rawClientLog matches a klog header ("E1202 10:04:05.123456 ...") printed past the printer.
var rawClientLog = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d`)

func assertNoRawClientLog(t *testing.T, res harness.Result) {
	t.Helper()
	if m := rawClientLog.FindString(res.Combined()); m != "" {
		t.Fatalf("a raw client library log line reached the user (%q):\n%s", m, res.Combined())
	}
}

// roleWithout is deployerRole with the optional read of what (events or pods/log) taken away.
func roleWithout(what string) string {
	resources := map[string]string{"events": "[pods, pods/log]", "pods/log": "[pods, events]"}[what]
	return strings.Replace(deployerRole, "resources: [pods, pods/log, events]", "resources: "+resources, 1)
}

// TestTrackingWithoutOptionalPermissions: a deployer who may not read events (or pod logs)
// gets a successful converge as soon as the objects are ready, one line naming what is
// missing, and no raw client log line; a failing deploy still fails with the reason from the
// objects' own status.
func TestTrackingWithoutOptionalPermissions(t *testing.T) {
	env := harness.Get(t)
	tests := []struct {
		missing string
		want    string
	}{
		{"events", "no events: cannot list and watch events in namespace "},
		{"pods/log", "no pod logs: cannot get pods/log in namespace "},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.missing, "/", "-"), func(t *testing.T) {
			ns := env.Namespace(t)
			env.Apply(t, ns, roleWithout(tt.missing))
			kubeconfig := serviceAccountKubeconfig(t, env, ns, "deployer")
			run := func(chart string) harness.Result {
				// A hang would end at this timeout with exit 4; success must come first.
				return env.Command(t, "kubectl", "converge", chart, "--release", "app", "--progress", "plain", "--timeout", "3m").Env("KUBECONFIG", kubeconfig).Run()
			}
			res := run(chartWith(t, workload("web", 1, nil, nil, "", "")))
			if res.ExitCode != 0 {
				t.Fatalf("converge without %s: exit %d, want 0\n%s", tt.missing, res.ExitCode, res.Stderr)
			}
			if n := strings.Count(res.Stderr, tt.want+ns); n != 1 {
				t.Fatalf("%d lines naming the missing permission %q, want 1:\n%s", n, tt.want+ns, res.Stderr)
			}
			if !strings.Contains(res.Stderr, "deploy/web ready") {
				t.Fatalf("the Deployment was not reported ready:\n%s", res.Stderr)
			}
			assertNoRawClientLog(t, res)

			res = run(chartWith(t, workload("nowhere", 1, nil, nil, "", "      nodeSelector: {disk: ssd}\n")))
			if res.ExitCode != 3 || !strings.Contains(res.Stderr, "deploy/nowhere FAILED") || !strings.Contains(res.Stderr, "Unschedulable") {
				t.Fatalf("unschedulable pod without %s: exit %d, want 3 naming Unschedulable\n%s", tt.missing, res.ExitCode, res.Stderr)
			}
			assertNoRawClientLog(t, res)
		})
	}
}

// kindsOfOtherGroups are CRDs whose kinds are Service and Deployment in groups of their own.
const kindsOfOtherGroups = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: services.serving.converge.test}
spec:
  group: serving.converge.test
  names: {kind: Service, plural: services, singular: service, listKind: ServiceList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: deployments.fleet.converge.test}
spec:
  group: fleet.converge.test
  names: {kind: Deployment, plural: deployments, singular: deployment, listKind: DeploymentList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// TestTrackingTellsKindsOfOtherGroupsApart: custom kinds named Service and Deployment beside
// the core ones of the same names are each judged by their own rules and named apart.
func TestTrackingTellsKindsOfOtherGroupsApart(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("web", 1, nil, nil, "", "")+`---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: serving.converge.test/v1
kind: Service
metadata: {name: web}
spec: {image: registry.example.com/web:1}
---
apiVersion: fleet.converge.test/v1
kind: Deployment
metadata: {name: web}
spec: {clusters: 3}
status:
  conditions: [{type: Ready, status: "True", reason: Rolled, message: rolled out to 3 clusters}]
`)
	writeFile(t, filepath.Join(chart, "crds", "kinds.yaml"), kindsOfOtherGroups)
	t.Cleanup(func() {
		env.Kubectl(t, "delete", "crd", "services.serving.converge.test", "deployments.fleet.converge.test", "--ignore-not-found", "--wait=false")
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "3m").Run()
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", res.ExitCode, res.Stderr)
	}
	summary := res.Stderr[strings.LastIndex(res.Stderr, "RESOURCE"):]
	rows := map[string]*regexp.Regexp{
		"deploy/web":                         regexp.MustCompile(`(?m)^deploy/web\s+ready\s+\S+\s+1/1 available$`),
		"svc/web":                            regexp.MustCompile(`(?m)^svc/web\s+ready\s+\S+\s+\d+\.\d+\.\d+\.\d+$`),
		"deployment.fleet.converge.test/web": regexp.MustCompile(`(?m)^deployment\.fleet\.converge\.test/web\s+ready\s+\S+\s+Ready$`),
		"service.serving.converge.test/web":  regexp.MustCompile(`(?m)^service\.serving\.converge\.test/web\s+ready\s+\S+\s+present$`),
	}
	for name, row := range rows {
		if !row.MatchString(summary) {
			t.Errorf("summary row of %s not judged by its own rules", name)
		}
	}
	if t.Failed() {
		t.Fatalf("summary:\n%s", summary)
	}
	assertNoRawClientLog(t, res)
}

// TestTrackingAttributesByOwner: Deployment app does not claim the pods, logs or events of
// Deployment app-worker, whose name it prefixes.
func TestTrackingAttributesByOwner(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("app", 1, nil, nil, "", "")+workload("app-worker", 1, nil, map[string]string{"converge.test/behaviour": "crash-loop"}, "crash", ""))
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "3m").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "deploy/app-worker FAILED") {
		t.Fatalf("exit %d, want 3 with app-worker failed\n%s", res.ExitCode, res.Stderr)
	}
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, "] deploy/app ") && (strings.Contains(line, "app-worker") || strings.Contains(line, "crash") || strings.Contains(line, "BackOff")) {
			t.Errorf("deploy/app claims what is app-worker's: %s", line)
		}
		if strings.HasPrefix(line, "Error: ") && strings.Contains(line, "deploy/app ") {
			t.Errorf("the error blames deploy/app: %s", line)
		}
	}
	if !strings.Contains(res.Stderr, "] deploy/app ready") {
		t.Errorf("deploy/app was not reported ready")
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", res.Stderr)
	}
}

// TestTimeoutIsADiagnosis: a Deployment that never becomes ready ends the converge at its
// timeout with exit 4, the object, "not ready", the readiness probe's event and the last log
// lines in the error and the summary; with --auto-rollback the summary shows the failed
// deploy's objects, then the rollback's.
func TestTimeoutIsADiagnosis(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	never := workload("web", 1, nil, map[string]string{"converge.test/behaviour": "never-ready"}, "", "")
	res := env.Command(t, "kubectl", "converge", chartWith(t, never), "-n", ns, "--progress", "plain", "--timeout", "30s").Run()
	assertTimeoutDiagnosis(t, res)
	if !strings.Contains(res.Stderr, "x deploy/web not ready when the time ran out") || !strings.Contains(res.Stderr, "last log lines of app:") {
		t.Fatalf("the summary lacks the not-ready object's details:\n%s", res.Stderr)
	}

	ns = env.Namespace(t)
	if res := env.Command(t, "kubectl", "converge", chartWith(t, workload("web", 1, nil, nil, "", "")), "-n", ns, "--timeout", "3m").Run(); res.ExitCode != 0 {
		t.Fatalf("first install: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	res = env.Command(t, "kubectl", "converge", chartWith(t, never), "-n", ns, "--progress", "plain", "--timeout", "30s", "--auto-rollback").Run()
	assertTimeoutDiagnosis(t, res)
	failedAt, rolledAt := strings.Index(res.Stderr, "x deploy/web not ready when the time ran out"), strings.LastIndex(res.Stderr, "auto-rollback: returning release")
	lastSummary := strings.LastIndex(res.Stderr, "RESOURCE")
	if failedAt < 0 || rolledAt < 0 || failedAt > rolledAt || lastSummary < rolledAt {
		t.Fatalf("want the failed deploy's summary, then the rollback, then the rollback's summary:\n%s", res.Stderr)
	}
	if !regexp.MustCompile(`(?m)^deploy/web\s+ready`).MatchString(res.Stderr[lastSummary:]) {
		t.Fatalf("the rollback's summary lacks deploy/web ready:\n%s", res.Stderr[lastSummary:])
	}
}

func assertTimeoutDiagnosis(t *testing.T, res harness.Result) {
	t.Helper()
	if res.ExitCode != 4 {
		t.Fatalf("exit %d, want 4 (timeout)\n%s", res.ExitCode, res.Stderr)
	}
	errLine := res.Stderr[strings.LastIndex(res.Stderr, "Error: "):]
	for _, want := range []string{"deploy/web not ready", "Readiness probe failed", "last log line: "} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the error lacks %q", want)
		}
	}
	if strings.Contains(errLine, "context deadline exceeded") {
		t.Errorf("the error says %q bare", "context deadline exceeded")
	}
	if t.Failed() {
		t.Fatalf("error line: %s\noutput:\n%s", errLine, res.Stderr)
	}
	assertNoRawClientLog(t, res)
}

// TestTimeoutWhenTheAPIServerRefusesLists: with every list of Deployments refused (through
// the test API proxy), the run ends at its --timeout, naming what it waited for; the
// auto-rollback after it ends within its own deadline.
func TestTimeoutWhenTheAPIServerRefusesLists(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := chartWith(t, workload("web", 1, nil, nil, "", ""))
	if res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "3m").Run(); res.ExitCode != 0 {
		t.Fatalf("first install: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	refuse := func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/namespaces/"+ns+"/deployments") {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the list is refused by the test proxy","code":500}`, http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	}
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, refuse)
	writeFile(t, filepath.Join(chart, "templates", "config.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: changed}\ndata: {a: b}\n")

	// A run that outlives its deadline by minutes (a retry not bound to it) is killed by
	// the command's bound and fails the test there; how long past the deadline a run
	// ends is no assertion, as a loaded machine stretches the start and the exit.
	start := time.Now()
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "20s").Env("KUBECONFIG", proxy.Kubeconfig).Timeout(3 * time.Minute).Run()
	took := time.Since(start)
	if res.ExitCode != 4 || !strings.Contains(res.Stderr, "deploy/web not ready: cannot list deployments.apps in namespace "+ns) {
		t.Fatalf("exit %d, want 4 naming the refused list\n%s", res.ExitCode, res.Stderr)
	}
	if took < 20*time.Second {
		t.Fatalf("the converge with --timeout 20s gave up after %s, before its deadline", took)
	}
	assertNoRawClientLog(t, res)

	res = env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain", "--timeout", "20s", "--auto-rollback", "--auto-rollback-timeout", "10s").Env("KUBECONFIG", proxy.Kubeconfig).Timeout(3 * time.Minute).Run()
	if res.ExitCode != 4 || !strings.Contains(res.Stderr, "auto-rollback") {
		t.Fatalf("exit %d, want 4 after an auto-rollback\n%s", res.ExitCode, res.Stderr)
	}
	assertNoRawClientLog(t, res)
	if got := statuses(helmHistory(t, env, "helm3", ns, "app")); strings.Contains(got, "pending") {
		t.Fatalf("release history %s has a pending revision", got)
	}
}
