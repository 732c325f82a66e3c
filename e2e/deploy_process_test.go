package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// streamEvent is one JSON line of "kubectl converge -o json".
type streamEvent struct {
	Type    string `json:"type"`
	Stage   string `json:"stage"`
	Line    string `json:"line"`
	Objects []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"objects"`
	Object *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"object"`
	Status *struct {
		State string `json:"state"`
	} `json:"status"`
}

func parseStream(t *testing.T, stdout string) []streamEvent {
	t.Helper()
	var out []streamEvent
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e streamEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// writeChart writes a chart named name with the given templates (file name -> content).
func writeChart(t *testing.T, name string, templates map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	writeFile(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: "+name+"\nversion: 0.1.0\n")
	for file, content := range templates {
		writeFile(t, filepath.Join(dir, file), content)
	}
	return dir
}

func appDeployment(name, annotations, podAnnotations, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  annotations: {%[2]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}, annotations: {%[3]s}}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:1
%[4]s
---
`, name, annotations, podAnnotations, extraSpec)
}

func hookJob(name, weight string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: "%s"}
spec:
  template:
    metadata: {annotations: {converge.test/run-time: 1s}}
    spec: {restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
---
`, name, weight)
}

func creationTime(t *testing.T, env *harness.Env, ns, object string) time.Time {
	t.Helper()
	return timestampAt(t, env, ns, object, "{.metadata.creationTimestamp}")
}

// timestampAt is the time an object's field at path (a kubectl JSONPath) holds.
func timestampAt(t *testing.T, env *harness.Env, ns, object, path string) time.Time {
	t.Helper()
	raw := jsonPath(t, env, ns, object, path)
	ts, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		t.Fatalf("%s %s %q: %v", object, path, raw, err)
	}
	return ts
}

// TestWeightGroupsAndHooksRunInOrder deploys objects with weights 10, 0 and -10 (declared in
// that order) and two pre-install hooks, and checks from the event stream and the creation
// times that hooks run by hook weight, then each group is applied only after the previous
// one is ready.
func TestWeightGroupsAndHooksRunInOrder(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	slow := `converge.test/behaviour: slow-start, converge.test/start-delay: 2s`
	chart := writeChart(t, "weights", map[string]string{
		"templates/app.yaml": appDeployment("last", `werf.io/weight: "10"`, "", "") +
			appDeployment("middle", "", slow, "") +
			appDeployment("first", `werf.io/weight: "-10"`, slow, ""),
		"templates/hooks.yaml": hookJob("hook-late", "5") + hookJob("hook-early", "-5"),
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "-o", "json").Succeed()
	events := parseStream(t, res.Stdout)

	var stages []string
	readyAt := map[string]int{}
	stageAt := map[string]int{}
	for i, e := range events {
		switch e.Type {
		case "stage":
			stages = append(stages, e.Line)
			stageAt[e.Line] = i
		case "status":
			if e.Status.State == "ready" {
				readyAt[e.Object.Name] = i
			}
		}
	}
	want := []string{"hook pre-install: job/hook-early", "hook pre-install: job/hook-late", "apply weight -10: deploy/first", "apply weight 0: deploy/middle", "apply weight 10: deploy/last"}
	if strings.Join(stages, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stages:\n%s\nwant:\n%s", strings.Join(stages, "\n"), strings.Join(want, "\n"))
	}
	if !(readyAt["first"] < stageAt["apply weight 0: deploy/middle"] && readyAt["middle"] < stageAt["apply weight 10: deploy/last"]) {
		t.Fatalf("a group started before the previous one was ready (ready first at event %d, middle at %d; group 0 at %d, group 10 at %d)",
			readyAt["first"], readyAt["middle"], stageAt["apply weight 0: deploy/middle"], stageAt["apply weight 10: deploy/last"])
	}
	early, late := creationTime(t, env, ns, "job/hook-early"), creationTime(t, env, ns, "job/hook-late")
	first, middle, last := creationTime(t, env, ns, "deployment/first"), creationTime(t, env, ns, "deployment/middle"), creationTime(t, env, ns, "deployment/last")
	if !(early.Before(late) && !late.After(first) && first.Add(time.Second).Before(middle.Add(time.Millisecond)) && middle.Add(time.Second).Before(last.Add(time.Millisecond))) {
		t.Fatalf("creation times out of order: hook-early %s, hook-late %s, first %s, middle %s, last %s", early, late, first, middle, last)
	}
}

// TestDeployAndExternalDependenciesWait makes one Deployment wait for another of the release
// to be ready (5 s start delay) and another for a Secret created 5 s after the converge
// starts; both wait, then the converge succeeds.
func TestDeployAndExternalDependenciesWait(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "deps", map[string]string{
		"templates/app.yaml": appDeployment("db", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 5s`, "") +
			appDeployment("api", `werf.io/deploy-dependency-db: "state=ready,kind=Deployment,name=db"`, "", "") +
			appDeployment("worker", `creds.external-dependency.werf.io/resource: secret/late-creds`, "", ""),
	})
	start := time.Now()
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns).Start()
	time.Sleep(5 * time.Second)
	if strings.Contains(run.Stderr(), "revision 1 deployed") {
		t.Fatalf("converge finished before the external dependency existed:\n%s", run.Stderr())
	}
	env.Kubectl(t, "-n", ns, "create", "secret", "generic", "late-creds", "--from-literal=k=v")
	res := run.Wait()
	if res.ExitCode != 0 {
		t.Fatalf("converge exit %d:\n%s", res.ExitCode, res.Combined())
	}
	if !strings.Contains(res.Stderr, "deploy/api waiting for deploy/db") || !strings.Contains(res.Stderr, "deploy/worker waiting for secret/late-creds") {
		t.Fatalf("the output does not say what waits for what:\n%s", res.Stderr)
	}
	db, api := creationTime(t, env, ns, "deployment/db"), creationTime(t, env, ns, "deployment/api")
	if api.Sub(db) < 4*time.Second {
		t.Fatalf("api created %s after db, want after db was ready (5 s start delay)", api.Sub(db))
	}
	secret, worker := creationTime(t, env, ns, "secret/late-creds"), creationTime(t, env, ns, "deployment/worker")
	if worker.Before(secret) {
		t.Fatalf("worker created at %s, before its external dependency at %s", worker, secret)
	}
	if time.Since(start) < 5*time.Second {
		t.Fatalf("converge took %s, it cannot have waited", time.Since(start))
	}
}

// TestReplicasOnCreationSurvivesScaling scales a Deployment by hand, as an HPA would, and
// checks that an upgrade changing the pod template keeps the scale.
func TestReplicasOnCreationSurvivesScaling(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "hpa", map[string]string{
		"templates/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: scaled
  annotations: {werf.io/replicas-on-creation: "2"}
spec:
  selector: {matchLabels: {app: scaled}}
  template:
    metadata: {labels: {app: scaled}, annotations: {build: "{{ .Values.build }}"}}
    spec: {containers: [{name: app, image: registry.example.com/app:1}]}
`,
		"values.yaml": "build: one\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "deployment/scaled", "{.spec.replicas}"); got != "2" {
		t.Fatalf("replicas after install = %s, want 2 from werf.io/replicas-on-creation", got)
	}
	env.Kubectl(t, "-n", ns, "scale", "deployment/scaled", "--replicas=4")
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "build=two").Succeed()
	if got := jsonPath(t, env, ns, "deployment/scaled", "{.spec.replicas}"); got != "4" {
		t.Fatalf("replicas after upgrade = %s, want the hand-set 4 kept", got)
	}
	if got := jsonPath(t, env, ns, "deployment/scaled", "{.spec.template.metadata.annotations.build}"); got != "two" {
		t.Fatalf("the upgrade was not applied: build annotation %q", got)
	}
	if got := jsonPath(t, env, ns, "deployment/scaled", "{.status.readyReplicas}"); got != "4" {
		t.Fatalf("ready replicas %s, want 4", got)
	}
}

// TestAdoptionNeedsConsentOrForce converges a chart whose ConfigMap already exists outside
// the release: the error names the object and the exact commands that adopt it, nothing is
// recorded; --force-adoption takes it over.
func TestAdoptionNeedsConsentOrForce(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Kubectl(t, "-n", ns, "create", "configmap", "taken", "--from-literal=owner=someone-else")
	chart := writeChart(t, "adopt", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: taken}\ndata: {owner: the-release}\n",
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns).Run()
	wantErr := fmt.Sprintf(`Error: converge release "adopt" in namespace %[1]q: ConfigMap "taken" in namespace %[1]q already exists and does not belong to release "adopt": `+
		`adopt it with kubectl label -n %[1]s ConfigMap/taken app.kubernetes.io/managed-by=Helm && kubectl annotate -n %[1]s ConfigMap/taken meta.helm.sh/release-name=adopt meta.helm.sh/release-namespace=%[1]s, or converge with --force-adoption`, ns)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, wantErr+"\n") {
		t.Fatalf("exit %d, want the adoption error\n%s\ngot:\n%s", res.ExitCode, wantErr, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/taken", "{.data.owner}"); got != "someone-else" {
		t.Fatalf("the refused converge changed the ConfigMap: owner=%q", got)
	}
	if h := env.Command(t, "kubectl", "converge", "history", "adopt", "-n", ns).Run(); h.ExitCode == 0 {
		t.Fatalf("the refused converge recorded a release:\n%s", h.Stdout)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("the refused converge left a lock: %s", out)
	}

	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--force-adoption").Succeed()
	if got := jsonPath(t, env, ns, "configmap/taken", "{.data.owner}"); got != "the-release" {
		t.Fatalf("after --force-adoption owner=%q, want the chart's value", got)
	}
	if got := jsonPath(t, env, ns, "configmap/taken", `{.metadata.annotations.meta\.helm\.sh/release-name}`); got != "adopt" {
		t.Fatalf("adopted ConfigMap release-name annotation %q", got)
	}
}

// TestConcurrentConvergesSerialize starts two converges of one release together: one waits
// for the other's lock, both succeed, and the history has revisions 1 and 2.
func TestConcurrentConvergesSerialize(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "race", map[string]string{
		"templates/app.yaml": appDeployment("slow", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 3s, run: "{{ .Values.run }}"`, ""),
		"values.yaml":        "run: none\n",
	})
	a := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "run=a").Start()
	b := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "run=b").Start()
	ra, rb := a.Wait(), b.Wait()
	if ra.ExitCode != 0 || rb.ExitCode != 0 {
		t.Fatalf("exit codes %d and %d\nA:\n%s\nB:\n%s", ra.ExitCode, rb.ExitCode, ra.Stderr, rb.Stderr)
	}
	waited := ra.Stderr + rb.Stderr
	if !strings.Contains(waited, `waiting for release "race": locked by converge by`) {
		t.Fatalf("neither run said it waited for the lock:\nA:\n%s\nB:\n%s", ra.Stderr, rb.Stderr)
	}
	history := historyStatuses(t, env, ns, "race")
	if history != "1:superseded 2:deployed" {
		t.Fatalf("history %q, want 1:superseded 2:deployed", history)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("a lock was left behind: %s", out)
	}
}

// historyStatuses reads the release history as "REVISION:STATUS ..." through helm's own view.
func historyStatuses(t *testing.T, env *harness.Env, ns, release string) string {
	t.Helper()
	out := env.Command(t, "kubectl", "converge", "history", release, "-n", ns, "-o", "json").Succeed().Stdout
	var revs []struct {
		Revision int    `json:"revision"`
		Status   string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &revs); err != nil {
		t.Fatalf("history JSON: %v\n%s", err, out)
	}
	var parts []string
	for _, r := range revs {
		parts = append(parts, fmt.Sprintf("%d:%s", r.Revision, r.Status))
	}
	return strings.Join(parts, " ")
}

// waitForPending waits until the release's newest revision is pending.
func waitForPending(t *testing.T, env *harness.Env, ns, release string) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, func() string {
		res := env.Command(t, "kubectl", "converge", "history", release, "-n", ns, "-o", "json").Run()
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `"pending-`) {
			return "no pending revision yet: " + res.Combined()
		}
		return ""
	})
}

// TestKilledConvergeIsRecovered kills a converge with SIGKILL while it waits for its objects;
// the next plain converge takes the expired lock over, marks the pending revision failed and
// deploys.
func TestKilledConvergeIsRecovered(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "killed", map[string]string{
		"templates/app.yaml": appDeployment("app", "", `converge.test/behaviour: slow-start, converge.test/start-delay: "{{ .Values.delay }}"`, ""),
		"values.yaml":        "delay: 60s\n",
	})
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns).Start()
	waitForPending(t, env, ns, "killed")
	if err := run.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.Wait()
	if h := historyStatuses(t, env, ns, "killed"); h != "1:pending-install" {
		t.Fatalf("history after SIGKILL %q, want 1:pending-install", h)
	}
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "delay=1s").Succeed()
	if !strings.Contains(res.Stderr, `release "killed" revision 1 was left pending-install by an interrupted run: marked it failed, continuing`) {
		t.Fatalf("the recovery was not reported:\n%s", res.Stderr)
	}
	// A release that never deployed is installed again, as nelm does (release_install.go):
	// the failed revision stays failed, its description keeps what happened to it.
	if h := historyStatuses(t, env, ns, "killed"); h != "1:failed 2:deployed" {
		t.Fatalf("history after recovery %q, want 1:failed 2:deployed", h)
	}
	if h := env.Command(t, "kubectl", "converge", "history", "killed", "-n", ns).Succeed().Stdout; !strings.Contains(h, "Interrupted while pending-install") {
		t.Fatalf("revision 1 does not say it was interrupted:\n%s", h)
	}
}

// TestInterruptedConvergeMarksFailedAndUnlocks sends SIGINT and SIGTERM to converges waiting
// for their objects: each ends non-zero with its revision failed and the lock released, so
// the next converge starts at once.
func TestInterruptedConvergeMarksFailedAndUnlocks(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "interrupted", map[string]string{
		"templates/app.yaml": appDeployment("app", "", `converge.test/behaviour: slow-start, converge.test/start-delay: "{{ .Values.delay }}"`, ""),
		"values.yaml":        "delay: 60s\n",
	})
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		run := env.Command(t, "kubectl", "converge", chart, "-n", ns).Start()
		waitForPending(t, env, ns, "interrupted")
		if err := run.Signal(sig); err != nil {
			t.Fatal(err)
		}
		res := run.Wait()
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "interrupted") {
			t.Fatalf("%s: exit %d, want a failure saying it was interrupted:\n%s", sig, res.ExitCode, res.Stderr)
		}
		want := map[int]string{0: "1:failed", 1: "1:failed 2:failed"}[i]
		if h := historyStatuses(t, env, ns, "interrupted"); h != want {
			t.Fatalf("after %s history %q, want %q", sig, h, want)
		}
		if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
			t.Fatalf("after %s the lock is still there: %s", sig, out)
		}
	}
	// A lock left behind would make this converge give up after --lock-timeout: no clock needed.
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "delay=1s", "--lock-timeout", "5s").Succeed()
}

// TestAutoRollbackRestoresPreviousRevision upgrades to a crash-looping revision with
// --auto-rollback: the error reports the crash, the previous revision's pods are live and
// ready again, the history shows the failure and the rollback, and the report says so.
func TestAutoRollbackRestoresPreviousRevision(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "atomic", map[string]string{
		"templates/app.yaml": appDeployment("app", "", `converge.test/behaviour: "{{ .Values.behaviour }}", version: "{{ .Values.version }}"`, ""),
		"values.yaml":        "behaviour: healthy\nversion: one\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	report := filepath.Join(t.TempDir(), "report.json")
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "behaviour=crash-loop,version=two", "--auto-rollback", "--save-report", report).Run()
	if res.ExitCode != 3 {
		t.Fatalf("exit %d, want 3 (deploy failed)\n%s", res.ExitCode, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "CrashLoopBackOff") || !strings.Contains(res.Stderr, "auto-rollback: revision 1 is live again as revision 3") {
		t.Fatalf("the error does not report the crash and the rollback:\n%s", res.Stderr)
	}
	if h := historyStatuses(t, env, ns, "atomic"); h != "1:superseded 2:failed 3:deployed" {
		t.Fatalf("history %q, want 1:superseded 2:failed 3:deployed", h)
	}
	if got := jsonPath(t, env, ns, "deployment/app", "{.spec.template.metadata.annotations.version}"); got != "one" {
		t.Fatalf("live pod template version %q after the rollback, want one", got)
	}
	if got := jsonPath(t, env, ns, "deployment/app", "{.status.readyReplicas}/{.status.updatedReplicas}"); got != "1/1" {
		t.Fatalf("ready/updated replicas %s after the rollback, want 1/1", got)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Release      string `json:"release"`
		Namespace    string `json:"namespace"`
		Revision     int    `json:"revision"`
		Status       string `json:"status"`
		Error        string `json:"error"`
		RolledBackTo int    `json:"rolledBackTo"`
		Objects      []struct {
			Object struct{ Kind, Name string } `json:"object"`
			Status struct{ State string }      `json:"status"`
		} `json:"objects"`
		Actions []struct {
			Object                      *struct{ Kind, Name string } `json:"object"`
			Action, Reason, Phase, Line string
		} `json:"actions"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	if rep.Release != "atomic" || rep.Namespace != ns || rep.Revision != 2 || rep.Status != "failed" || rep.RolledBackTo != 3 ||
		!strings.Contains(rep.Error, "CrashLoopBackOff") || len(rep.Objects) != 1 || rep.Objects[0].Status.State != "failed" {
		t.Fatalf("report does not describe the failed revision and the rollback:\n%s", data)
	}
	// What the run did, typed beside its line: the upgrade of the Deployment, the rollback
	// that followed, and the rollback's own update of it.
	var actions []string
	for _, a := range rep.Actions {
		object := ""
		if a.Object != nil {
			object = a.Object.Kind + "/" + a.Object.Name
		}
		if a.Line == "" {
			t.Fatalf("report action without its line:\n%s", data)
		}
		actions = append(actions, strings.Join([]string{a.Phase, a.Action, a.Reason, object}, " "))
	}
	if got, want := strings.Join(actions, "; "), "apply update present Deployment/app; auto-rollback rollback deploy-failed ; apply update present Deployment/app"; got != want {
		t.Fatalf("report actions %q, want %q\n%s", got, want, data)
	}
}

// TestLifecycleOnUpgrade covers what an upgrade does to objects beyond patching them: a Job
// whose pod template changed is recreated, an object kept by helm.sh/resource-policy on the
// live object survives leaving the chart, an object that another release took over is not
// deleted, and CRDs in crds/ are updated.
func TestLifecycleOnUpgrade(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	// CRDs are cluster-wide: a name of this test's own keeps runs apart.
	suffix := ns[len(ns)-6:]
	crdName := "widgets" + suffix + ".converge.test"
	kind := "Widget" + strings.ToUpper(suffix)
	crd := func(column string) string {
		return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[1]s}
spec:
  group: converge.test
  names: {kind: %[2]s, plural: widgets%[3]s, singular: widget%[3]s}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns: [{name: %[4]s, type: string, jsonPath: .spec.size}]
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, crdName, kind, suffix, column)
	}
	chart := writeChart(t, "life", map[string]string{
		"templates/job.yaml": `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    metadata: {annotations: {converge.test/run-time: 1s}}
    spec: {restartPolicy: Never, containers: [{name: job, image: "registry.example.com/migrate:{{ .Values.tag }}"}]}
`,
		"templates/cms.yaml": `{{ if .Values.withExtras }}
apiVersion: v1
kind: ConfigMap
metadata: {name: kept}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: moved}
{{ end }}
`,
		"templates/widget.yaml": "apiVersion: converge.test/v1\nkind: " + kind + "\nmetadata: {name: w}\nspec: {size: big}\n",
		"crds/widgets.yaml":     crd("Size"),
		"values.yaml":           "tag: one\nwithExtras: true\n",
	})
	t.Cleanup(func() {
		env.Command(t, "kubectl", "delete", "crd", crdName, "--ignore-not-found").Run()
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	jobUID := jsonPath(t, env, ns, "job/migrate", "{.metadata.uid}")
	env.Kubectl(t, "-n", ns, "annotate", "configmap/kept", "helm.sh/resource-policy=keep")
	env.Kubectl(t, "-n", ns, "annotate", "--overwrite", "configmap/moved", "meta.helm.sh/release-name=someone-else")
	writeFile(t, filepath.Join(chart, "crds", "widgets.yaml"), crd("Weight"))

	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "tag=two,withExtras=false").Succeed()
	if uid := jsonPath(t, env, ns, "job/migrate", "{.metadata.uid}"); uid == jobUID {
		t.Fatalf("job/migrate was not recreated for its new pod template")
	}
	if img := jsonPath(t, env, ns, "job/migrate", "{.spec.template.spec.containers[0].image}"); img != "registry.example.com/migrate:two" {
		t.Fatalf("job image %q", img)
	}
	if !strings.Contains(res.Stderr, "recreate job/migrate: an update changes an immutable field") {
		t.Fatalf("the recreation was not reported:\n%s", res.Stderr)
	}
	env.Kubectl(t, "-n", ns, "get", "configmap/kept")
	env.Kubectl(t, "-n", ns, "get", "configmap/moved")
	if !strings.Contains(res.Stderr, `not deleting cm/moved: it left the chart but no longer belongs to release "life"`) {
		t.Fatalf("keeping the re-owned ConfigMap was not reported:\n%s", res.Stderr)
	}
	column := env.Kubectl(t, "get", "crd", crdName, "-o", "jsonpath={.spec.versions[0].additionalPrinterColumns[0].name}")
	if column != "Weight" {
		t.Fatalf("CRD printer column %q after the upgrade, want the updated Weight", column)
	}
}
