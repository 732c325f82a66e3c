package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// publicChart is the multi-kind chart (10 fresh CRDs of 70–830 KB, workloads, a DaemonSet,
// webhook configurations, RBAC) with the hook chain popular public charts carry for their
// admission webhook (kube-prometheus-stack, ingress-nginx): a ServiceAccount, ClusterRole,
// ClusterRoleBinding, Role and RoleBinding as hooks of every install and upgrade phase at
// weight -1, deleted once they succeed, and a Job using them at weight 0: one that creates
// the webhook's certificate before the objects, one that patches the webhook after them.
// failing makes the pre-install Job fail. Every hook object is named admission-...
func publicChart(t *testing.T, failing bool) (dir string, crdNames []string) {
	dir, crdNames = multiKindChart(t)
	for _, f := range []string{"pre-hook.yaml", "post-hook.yaml"} {
		if err := os.Remove(filepath.Join(dir, "templates", f)); err != nil {
			t.Fatal(err)
		}
	}
	rbacHook := `helm.sh/hook: pre-install,pre-upgrade,post-install,post-upgrade
    helm.sh/hook-weight: "-1"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded`
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: admission-patch
  annotations:
    %[1]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: admission-{{ .Release.Namespace }}
  annotations:
    %[1]s
rules: [{apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations], verbs: [get, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: admission-{{ .Release.Namespace }}
  annotations:
    %[1]s
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admission-{{ .Release.Namespace }}}
subjects: [{kind: ServiceAccount, name: admission-patch, namespace: {{ .Release.Namespace }}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: admission-patch
  annotations:
    %[1]s
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: admission-patch
  annotations:
    %[1]s
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: admission-patch}
subjects: [{kind: ServiceAccount, name: admission-patch, namespace: {{ .Release.Namespace }}}]
`, rbacHook)
	createBehaviour := "converge.test/run-time: 1s"
	if failing {
		createBehaviour = "converge.test/behaviour: job-failure"
	}
	for _, job := range []struct{ name, hook, pod string }{
		{"admission-create", "pre-install,pre-upgrade", createBehaviour},
		{"admission-patch", "post-install,post-upgrade", "converge.test/run-time: 1s"},
	} {
		fmt.Fprintf(&b, `---
apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations:
    helm.sh/hook: %s
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {%s}}
    spec: {restartPolicy: Never, serviceAccountName: admission-patch, containers: [{name: job, image: registry.example.com/kube-webhook-certgen:1}]}
`, job.name, job.hook, job.pod)
	}
	write(t, filepath.Join(dir, "templates", "admission-hooks.yaml"), b.String())
	return dir, crdNames
}

// phaseNames are the phases of a deploy in the phase table.
var phaseNames = []string{"start", "CRDs", "pre-hooks", "main objects", "post-hooks"}

// deployPhases splits a deploy's wall time at its first write of each kind of object, as
// the counting proxy saw them: start (process start, render, checks) until the first CRD
// or hook write; CRDs (their writes and the wait until served) until the first hook write;
// pre-hooks until the first write of a main object; main objects (applied and awaited)
// until the first hook write after them; post-hooks until the exit. ok is false when a
// boundary is missing.
func deployPhases(s sample) (phases map[string]float64, ok bool) {
	var firstCRD, firstPre, firstMain, firstPost time.Time
	for _, w := range s.writes {
		switch {
		case w.resource == "customresourcedefinitions":
			if firstCRD.IsZero() {
				firstCRD = w.at
			}
		case strings.HasPrefix(w.name, "admission-"):
			if firstMain.IsZero() && firstPre.IsZero() {
				firstPre = w.at
			}
			if !firstMain.IsZero() && firstPost.IsZero() {
				firstPost = w.at
			}
		case isMainObject(w.name):
			if firstMain.IsZero() {
				firstMain = w.at
			}
		}
	}
	if firstPre.IsZero() || firstMain.IsZero() || firstPost.IsZero() {
		return nil, false
	}
	end := s.start.Add(s.wall)
	setupEnd := firstPre
	if !firstCRD.IsZero() {
		setupEnd = firstCRD
	}
	return map[string]float64{
		"start":        seconds(setupEnd.Sub(s.start)),
		"CRDs":         seconds(firstPre.Sub(setupEnd)),
		"pre-hooks":    seconds(firstMain.Sub(firstPre)),
		"main objects": seconds(firstPost.Sub(firstMain)),
		"post-hooks":   seconds(end.Sub(firstPost)),
	}, true
}

// isMainObject says whether name is one of the multi-kind chart's own objects (not a hook,
// not the release's bookkeeping: its storage Secret, lock Lease, namespace).
func isMainObject(name string) bool {
	for _, prefix := range []string{"exporter-", "stack-"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	switch name {
	case "settings", "store", "node-agent", "compact", "ui", "defaults", "quota", "reader", "external-store", "default":
		return true
	}
	return false
}

// publicChartCase installs the public-chart-shaped chart and applies it again unchanged
// with each tool in turn, several runs interleaved, each install without the CRDs; then, in
// the same runs, converge and the cluster's limit on the N=30 plain chart; then the time
// converge takes to a named failure of the pre-install hook Job.
func publicChartCase(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) {
	chart, crds := publicChart(t, false)
	ops := []struct{ name, rev string }{{"install", "1"}, {"re-apply", "1"}}
	walls := map[string]map[string][]float64{}
	phaseSamples := map[string]map[string][]map[string]float64{}
	requests := map[string]map[string][]float64{}
	for run := 0; run < runs(); run++ {
		for _, tool := range tools {
			env.Command(t, "kubectl", append([]string{"delete", "crd", "--ignore-not-found", "--timeout=3m"}, crds...)...).Timeout(4 * time.Minute).Run()
			ns := env.Namespace(t)
			for _, op := range ops {
				s := measure(t, proxy, deployCmd(t, env, tool, chart, "stack", ns, 10*time.Minute, "--set", "rev="+op.rev))
				if s.exit != 0 {
					t.Fatalf("%s %s of the public-chart-shaped chart: exit %d\n%s", tool, op.name, s.exit, tail(s.output))
				}
				if walls[tool] == nil {
					walls[tool], phaseSamples[tool], requests[tool] = map[string][]float64{}, map[string][]map[string]float64{}, map[string][]float64{}
				}
				walls[tool][op.name] = append(walls[tool][op.name], seconds(s.wall))
				requests[tool][op.name] = append(requests[tool][op.name], float64(s.totalRequests()))
				phases, ok := deployPhases(s)
				if ok {
					phaseSamples[tool][op.name] = append(phaseSamples[tool][op.name], phases)
				}
				t.Logf("public chart %s %s: %s, %d requests (%s), phases %v", tool, op.name, s.wall.Round(10*time.Millisecond), s.totalRequests(), verbs(s.requests), phases)
			}
			env.Command(t, "kubectl", "delete", "namespace", ns, "--timeout=3m").Timeout(4 * time.Minute).Run()
			env.Command(t, "kubectl", append([]string{"delete", "--ignore-not-found"}, append(clusterScopedOf(ns), "clusterrole/admission-"+ns, "clusterrolebinding/admission-"+ns)...)...).Run()
		}
	}
	env.Command(t, "kubectl", append([]string{"delete", "crd", "--ignore-not-found"}, crds...)...).Run()

	var rows [][]string
	for _, op := range ops {
		c := statsOf(walls["converge"][op.name])
		h3, h4 := statsOf(walls["helm3"][op.name]), statsOf(walls["helm4"][op.name])
		ratio3, ratio4 := c.median/h3.median, c.median/h4.median
		target := "≤ 1.0× helm v3 (0.9× aimed at): " + r.target(ratio3 <= 1.0, fmt.Sprintf("public-chart-shaped %s: %.2f× helm v3", op.name, ratio3))
		rows = append(rows, []string{op.name, c.String(), h3.String(), h4.String(), trim(ratio3), trim(ratio4), target})
	}
	rows = append(rows, failingHookRow(t, env, proxy, r))
	r.section(publicChartTitle, fmt.Sprintf("The multi-kind chart of 1b with the hook chain popular public charts carry for their admission webhook (kube-prometheus-stack, ingress-nginx): ServiceAccount, ClusterRole, ClusterRoleBinding, Role and RoleBinding as hooks of every install and upgrade phase (weight -1, deleted once succeeded), a Job creating the webhook certificate before the objects and one patching the webhook configurations after them; 10 fresh CRDs of 70–830 KB, a DaemonSet, webhook configurations. Install (without the CRDs), then the same chart applied again; each run installs with converge, helm v3 and helm v4 in turn (the plain charts against the cluster's limit: sections 1 and 1c). Wall time in seconds, %d runs interleaved; min–max in brackets.", runs()),
		[]string{"case", "converge", "helm v3", "helm v4", "÷ helm v3", "÷ helm v4", "target"}, rows)

	var phaseRows [][]string
	for _, op := range ops {
		for _, tool := range tools {
			row := []string{tool + " " + op.name}
			samples := phaseSamples[tool][op.name]
			for _, name := range phaseNames {
				var values []float64
				for _, p := range samples {
					values = append(values, p[name])
				}
				if len(values) == 0 {
					row = append(row, "n/a")
					continue
				}
				row = append(row, trim(statsOf(values).median))
			}
			row = append(row, statsOf(walls[tool][op.name]).String(), trim(statsOf(requests[tool][op.name]).median))
			phaseRows = append(phaseRows, row)
		}
	}
	r.section(publicChartTitle+": where the time goes", "Median seconds of each phase, the same runs. The phases are cut at each tool's first API write of each kind of object, as the counting proxy between the tool and the API server saw it (the same method for every tool; no tool's own log is used): start (process start, render, checks) until the first CRD write, or the first hook write when no CRD is written; CRDs (their writes and the wait until they are served) until the first hook write; pre-hooks until the first write of a main object; main objects (applied and awaited) until the first hook write after them; post-hooks until the exit. A re-apply writes no CRD (helm never updates them; converge leaves unchanged ones alone). helm installs the CRDs before it renders the chart, so its render, its check of every object and its release record fall in its CRDs phase (its re-apply's start is about that work); converge renders and checks first, so its fall in start: compare start and CRDs together. Each phase is a median of its own, so the phases need not add up to the total.",
		append(append([]string{"run"}, phaseNames...), "total", "requests"), phaseRows)
}

// publicChartTitle heads the public-chart-shaped sections of docs/benchmarks.md.
const publicChartTitle = "1e. A public-chart-shaped first install"

// failingHookRow is converge's time to a non-zero exit naming the reason when the
// pre-install hook Job of the public-chart-shaped chart fails (its CRDs already there).
func failingHookRow(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) []string {
	chart, crds := publicChart(t, true)
	// Once unmeasured: the CRDs are created by it, so that the runs measure the failure.
	warm := env.Namespace(t)
	deployCmd(t, env, "converge", chart, "stack", warm, helmTimeout).Run()
	env.Command(t, "kubectl", "delete", "namespace", warm, "--wait=false").Run()
	var walls []float64
	named := true
	for i := 0; i < runs(); i++ {
		ns := env.Namespace(t)
		s := measure(t, proxy, deployCmd(t, env, "converge", chart, "stack", ns, helmTimeout))
		if s.exit == 0 {
			t.Fatalf("converge with a failing hook Job: exit 0\n%s", tail(s.output))
		}
		walls = append(walls, seconds(s.wall))
		named = named && strings.Contains(s.output, "BackoffLimitExceeded") && strings.Contains(s.output, "admission-create")
		env.Command(t, "kubectl", "delete", "namespace", ns, "--wait=false").Run()
		env.Command(t, "kubectl", append([]string{"delete", "--ignore-not-found", "--wait=false"}, append(clusterScopedOf(ns), "clusterrole/admission-"+ns, "clusterrolebinding/admission-"+ns)...)...).Run()
	}
	env.Command(t, "kubectl", append([]string{"delete", "crd", "--ignore-not-found"}, crds...)...).Run()
	st := statsOf(walls)
	return []string{"failing pre-install hook Job: time to exit", st.String(), "", "", "", "",
		fmt.Sprintf("the Job and BackoffLimitExceeded %s; < 10 s with the reason: %s", yesNo(named), r.target(st.median < 10 && named, fmt.Sprintf("failing hook Job: %.1f s, reason %s", st.median, yesNo(named))))}
}
