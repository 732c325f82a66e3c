package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// outageLength is how long the control plane stays down in each phase.
const outageLength = 20 * time.Second

// rawClientLine is a line client-go's logger (klog) writes: "E1205 17:00:29.123456 ...".
var rawClientLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d`)

// outageChart has a CRD (its group unique to the test, CRDs being cluster-wide), a
// pre-install hook chain (ServiceAccount, Role and RoleBinding, then a Job running as the
// ServiceAccount), and a ConfigMap, a custom resource and a Deployment that starts slowly.
func outageChart(t *testing.T, group string) string {
	t.Helper()
	hook := func(weight string) string {
		return fmt.Sprintf("annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: %q}", weight)
	}
	return writeChart(t, "outage", map[string]string{
		"crds/widgets.yaml": fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, group),
		"templates/hooks.yaml": fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata:
  name: migrator
  %[1]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: migrator
  %[1]s
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: migrator
  %[1]s
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: migrator}
subjects: [{kind: ServiceAccount, name: migrator}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  %[2]s
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {converge.test/run-time: 2s}}
    spec: {serviceAccountName: migrator, restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
`, hook("-5"), hook("0")),
		"templates/app.yaml": fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: outage}
---
apiVersion: %s/v1
kind: Widget
metadata: {name: main}
spec: {size: 1}
`, group) + workload("web", 1, nil, map[string]string{"converge.test/behaviour": "slow-start", "converge.test/start-delay": "10s"}, "", ""),
	})
}

// outageObjects are the objects of outageChart in namespace ns, as kubectl names them.
func outageObjects(group string) []string {
	return []string{"serviceaccount/migrator", "role/migrator", "rolebinding/migrator", "job/migrate", "configmap/settings", "widgets." + group + "/main", "deployment/web"}
}

// outageGroup is a CRD group of the test's own.
func outageGroup(t *testing.T, env *harness.Env, ns string) string {
	group := ns + ".converge.test"
	t.Cleanup(func() {
		env.Command(t, "kubectl", "delete", "crd", "widgets."+group, "--wait=false", "--ignore-not-found").Run()
	})
	return group
}

// awaitDefaultServiceAccount waits until the namespace's default ServiceAccount exists: one
// the controller manager has not made yet when the control plane stops is made only after its
// retries back off for minutes, and the chart's pods cannot be created without it (the cluster's
// recovery, not converge's, which these tests are about).
func awaitDefaultServiceAccount(t *testing.T, env *harness.Env, ns string) {
	t.Helper()
	harness.Eventually(t, 2*time.Minute, func() string {
		if res := env.Command(t, "kubectl", "-n", ns, "get", "serviceaccount", "default").Run(); res.ExitCode != 0 {
			return "no default ServiceAccount in " + ns + " yet: " + res.Stderr
		}
		return ""
	})
}

// phaseTrigger picks the request of converge that starts the outage; lose: the request
// reaches the API server, which acts on it, and its answer is lost as the control plane
// stops (the connection is cut), else the control plane stops before it is forwarded.
type phaseTrigger struct {
	match func(r *http.Request, body []byte) bool
	lose  bool
}

// outageProxy stands between converge and the API server: at the first request that
// matches trigger it stops the control plane for outageLength. wait returns when the
// control plane is back (at once when nothing matched).
func outageProxy(t *testing.T, env *harness.Env, trigger phaseTrigger) (proxy *harness.APIProxy, wait func() bool) {
	var once sync.Once
	var outage sync.WaitGroup
	triggered := false
	stop := func() {
		triggered = true
		start := env.StopControlPlane(t)
		outage.Add(1)
		go func() {
			defer outage.Done()
			time.Sleep(outageLength)
			start()
		}()
	}
	proxy = harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		fire := false
		if trigger.match(r, body) {
			once.Do(func() { fire = true })
		}
		switch {
		case !fire:
			next.ServeHTTP(w, r)
		case trigger.lose:
			next.ServeHTTP(httptest.NewRecorder(), r)
			stop()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("cut the connection: %v", err)
				return
			}
			conn.Close()
		default:
			stop()
			next.ServeHTTP(w, r)
		}
	})
	return proxy, func() bool { outage.Wait(); return triggered }
}

// TestOutageInEachPhaseCostsTimeNotTheDeploy stops the control plane (etcd and the API
// server) for 20 s in each phase of a first install in turn: converge rides it out, the
// release is deployed, every object exists once, and the output says once that the API
// server is unreachable and once that it is back.
func TestOutageInEachPhaseCostsTimeNotTheDeploy(t *testing.T) {
	env := harness.Get(t)
	harness.OwnCluster(t)
	create := func(method string) bool {
		return method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut
	}
	tests := []struct {
		name string
		// trigger starts the outage through a proxy; nil: the test starts it without one
		// when tracking has begun (converge then meets refused and reset connections).
		trigger *phaseTrigger
	}{
		{name: "crd apply", trigger: &phaseTrigger{lose: true, match: func(r *http.Request, _ []byte) bool {
			return create(r.Method) && strings.Contains(r.URL.Path, "/customresourcedefinitions")
		}}},
		{name: "pre-install hook chain", trigger: &phaseTrigger{lose: true, match: func(r *http.Request, _ []byte) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/roles")
		}}},
		{name: "main apply", trigger: &phaseTrigger{lose: true, match: func(r *http.Request, body []byte) bool {
			return create(r.Method) && strings.Contains(r.URL.Path, "/configmaps") && bytes.Contains(body, []byte(`"settings"`))
		}}},
		{name: "tracking"},
		{name: "release record write", trigger: &phaseTrigger{lose: true, match: func(r *http.Request, body []byte) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/secrets/sh.helm.release.v1.") && bytes.Contains(body, []byte("deployed"))
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			awaitDefaultServiceAccount(t, env, ns)
			group := outageGroup(t, env, ns)
			cmd := env.Command(t, "kubectl", "converge", outageChart(t, group), "--release", "outage", "-n", ns, "--progress", "plain", "--timeout", "3m")
			var res harness.Result
			if tt.trigger != nil {
				proxy, wait := outageProxy(t, env, *tt.trigger)
				res = cmd.Env("KUBECONFIG", proxy.Kubeconfig).Run()
				if !wait() {
					t.Fatalf("the phase's request never came: no outage\n%s", tail(res.Stderr, 40))
				}
			} else {
				run := cmd.Start()
				harness.Eventually(t, 90*time.Second, func() string {
					if strings.Contains(run.Stderr(), "deploy/web waiting") {
						return ""
					}
					return "converge has not started tracking deploy/web yet"
				})
				env.ControlPlaneOutage(t, outageLength)
				res = run.Wait()
			}
			if res.ExitCode != 0 {
				t.Fatalf("converge did not ride out the outage: exit %d\n%s", res.ExitCode, tail(res.Stderr, 40))
			}
			if down, back := strings.Count(res.Stderr, "the API server is unreachable since"), strings.Count(res.Stderr, "the API server is back at"); down != 1 || back != 1 {
				t.Fatalf("%d unreachable and %d back lines, want one of each:\n%s", down, back, res.Stderr)
			}
			if line := rawClientLine.FindString(res.Stderr); line != "" {
				t.Fatalf("a raw client library line on stderr (%q):\n%s", line, res.Stderr)
			}
			if got := historyStatuses(t, env, ns, "outage"); got != "1:deployed" {
				t.Fatalf("history %s, want 1:deployed", got)
			}
			for _, object := range outageObjects(group) {
				env.Kubectl(t, "-n", ns, "get", object)
			}
			// A create sent twice makes a second Job pod, or a second ReplicaSet.
			if pods := env.Kubectl(t, "-n", ns, "get", "pods", "-l", "job-name=migrate", "-o", "name"); strings.Count(pods, "pod/") != 1 {
				t.Fatalf("hook job pods: %q, want one", pods)
			}
		})
	}
}

// TestOutageLongerThanTheTimeout: the control plane stays down past --timeout: converge
// exits 4 at the deadline saying since when the API server was unreachable, what
// it applied and that the next run recovers the release; the next converge succeeds and
// the history shows the interrupted revision failed.
func TestOutageLongerThanTheTimeout(t *testing.T) {
	env := harness.Get(t)
	harness.OwnCluster(t)
	ns := env.Namespace(t)
	awaitDefaultServiceAccount(t, env, ns)
	group := outageGroup(t, env, ns)
	chart := outageChart(t, group)
	const timeout = 60 * time.Second
	started := time.Now()
	// A converge that outlives its deadline by minutes is killed by the command's bound and
	// fails the test there; how soon after the deadline it ends is no assertion, as a
	// loaded machine stretches the exit.
	run := env.Command(t, "kubectl", "converge", chart, "--release", "outage", "-n", ns, "--progress", "plain", "--timeout", timeout.String()).Timeout(timeout + 3*time.Minute).Start()
	harness.Eventually(t, 90*time.Second, func() string {
		if strings.Contains(run.Stderr(), "deploy/web waiting") {
			return ""
		}
		return "converge has not started tracking deploy/web yet:\n" + run.Stderr()
	})
	start := env.StopControlPlane(t)
	res := run.Wait()
	took := time.Since(started)
	start()
	if res.ExitCode != 4 || took < timeout {
		t.Fatalf("exit %d after %s, want 4 at the %s timeout\n%s", res.ExitCode, took.Round(time.Second), timeout, tail(res.Stderr, 30))
	}
	t.Logf("exit %d after %s:\n%s", res.ExitCode, took.Round(time.Second), tail(res.Stderr, 12))
	if line := rawClientLine.FindString(res.Stderr); line != "" {
		t.Fatalf("a raw client library line on stderr (%q):\n%s", line, res.Stderr)
	}
	for _, want := range []string{"the Kubernetes API server was unreachable since", "deploy/web", "the next converge recovers the release"} {
		if !strings.Contains(res.Stderr, want) {
			t.Fatalf("the error does not say %q:\n%s", want, tail(res.Stderr, 30))
		}
	}
	env.Command(t, "kubectl", "converge", chart, "--release", "outage", "-n", ns, "--progress", "plain", "--timeout", "3m").Succeed()
	if got := historyStatuses(t, env, ns, "outage"); got != "1:failed 2:deployed" {
		t.Fatalf("history %s, want the interrupted revision failed, then deployed", got)
	}
}
