package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// crdSizesKB are the sizes of the multi-kind chart's CRDs, as a monitoring stack ships them
// (the largest CRDs of kube-prometheus-stack are of this order).
var crdSizesKB = []int{70, 120, 200, 300, 400, 500, 600, 700, 760, 830}

// multiKindChart writes a chart shaped like kube-prometheus-stack: a parent chart with its own
// workloads, RBAC, webhooks and pre/post-install hook Jobs, and an "operator" subchart whose
// crds/ holds 10 large CRDs and whose templates create one custom resource of each; about
// 120 objects of 30 kinds. The value rev goes into one ConfigMap (the one-value upgrade).
func multiKindChart(t *testing.T) (dir string, crdNames []string) {
	dir = filepath.Join(t.TempDir(), "stack")
	write(t, filepath.Join(dir, "Chart.yaml"), `apiVersion: v2
name: stack
version: 0.1.0
dependencies:
- name: operator
  version: 0.1.0
`)
	write(t, filepath.Join(dir, "values.yaml"), "rev: \"1\"\nexporters: 11\n")
	write(t, filepath.Join(dir, "templates", "workloads.yaml"), `{{- $ns := .Release.Namespace }}
{{- range $i := until (int .Values.exporters) }}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: exporter-{{ $i }}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: exporter-{{ $i }}}
data: {config.yaml: "scrape_interval: 30s\nindex: {{ $i }}\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: exporter-{{ $i }}}
stringData: {token: "token-{{ $i }}"}
---
apiVersion: v1
kind: Service
metadata: {name: exporter-{{ $i }}}
spec: {clusterIP: None, selector: {app: exporter-{{ $i }}}, ports: [{name: metrics, port: 9100}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter-{{ $i }}}
spec:
  replicas: 1
  selector: {matchLabels: {app: exporter-{{ $i }}}}
  template:
    metadata: {labels: {app: exporter-{{ $i }}}}
    spec:
      serviceAccountName: exporter-{{ $i }}
      containers: [{name: exporter, image: registry.example.com/exporter:1, volumeMounts: [{name: config, mountPath: /etc/exporter}]}]
      volumes: [{name: config, configMap: {name: exporter-{{ $i }}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: exporter-{{ $i }}}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: exporter-{{ $i }}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: exporter-{{ $i }}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: exporter-{{ $i }}}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
{{- end }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {rev: "{{ .Values.rev }}"}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  serviceName: store
  replicas: 2
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec: {containers: [{name: store, image: registry.example.com/store:1}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec: {containers: [{name: agent, image: registry.example.com/agent:1}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: compact}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: compact, image: registry.example.com/store:1}]}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: store}
spec: {podSelector: {matchLabels: {app: store}}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {}}]}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: stack-{{ $ns }}}
spec: {controller: example.com/ingress}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ui}
spec:
  ingressClassName: stack-{{ $ns }}
  rules: [{host: ui.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: exporter-0, port: {number: 9100}}}}]}}]
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec: {limits: [{type: Container, defaultRequest: {cpu: 10m}}]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota}
spec: {hard: {pods: "200"}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: exporter-0, namespace: {{ $ns }}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: stack-{{ $ns }}}
rules: [{apiGroups: [""], resources: [nodes, pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: stack-{{ $ns }}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: stack-{{ $ns }}}
subjects: [{kind: ServiceAccount, name: exporter-0, namespace: {{ $ns }}}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: stack-{{ $ns }}}
value: 1000
---
# Webhooks that match no namespace: registered like an operator's, never called.
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: stack-{{ $ns }}}
webhooks:
- name: validate.stack.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  namespaceSelector: {matchLabels: {stack.example.com/never: "true"}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  clientConfig: {service: {name: exporter-0, namespace: {{ $ns }}, path: /validate}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: stack-{{ $ns }}}
webhooks:
- name: mutate.stack.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  namespaceSelector: {matchLabels: {stack.example.com/never: "true"}}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
  clientConfig: {service: {name: exporter-0, namespace: {{ $ns }}, path: /mutate}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: external-store, labels: {kubernetes.io/service-name: external-store}}
addressType: IPv4
endpoints: [{addresses: [10.0.0.1]}]
ports: [{name: db, port: 5432}]
`)
	for _, phase := range []string{"pre-install,pre-upgrade", "post-install,post-upgrade"} {
		name := strings.SplitN(phase, "-", 2)[0] + "-hook"
		write(t, filepath.Join(dir, "templates", name+".yaml"), `apiVersion: batch/v1
kind: Job
metadata:
  name: `+name+`
  annotations: {helm.sh/hook: "`+phase+`", helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {converge.test/run-time: 1s}}
    spec: {restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
`)
	}
	sub := filepath.Join(dir, "charts", "operator")
	write(t, filepath.Join(sub, "Chart.yaml"), "apiVersion: v2\nname: operator\nversion: 0.1.0\n")
	var resources strings.Builder
	for i, kb := range crdSizesKB {
		kind := fmt.Sprintf("Monitor%c", 'A'+i)
		plural := strings.ToLower(kind) + "s"
		crdNames = append(crdNames, plural+".stack.bench")
		write(t, filepath.Join(sub, "crds", plural+".yaml"), harness.LargeCRD("stack.bench", kind, kb, ""))
		fmt.Fprintf(&resources, "---\napiVersion: stack.bench/v1\nkind: %s\nmetadata: {name: default}\nspec: {interval: 30s}\n", kind)
	}
	write(t, filepath.Join(sub, "templates", "resources.yaml"), resources.String())
	return dir, crdNames
}

// clusterScopedOf are the multi-kind chart's cluster-scoped objects of a namespace's run.
func clusterScopedOf(ns string) []string {
	var out []string
	for _, kind := range []string{"clusterrole", "clusterrolebinding", "priorityclass", "ingressclass", "validatingwebhookconfiguration", "mutatingwebhookconfiguration"} {
		out = append(out, kind+"/stack-"+ns)
	}
	return out
}

// multiKind installs the multi-kind chart, upgrades it without a change and with one value
// changed, with each tool; each tool's install starts without the CRDs.
func multiKind(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) {
	chart, crds := multiKindChart(t)
	phases := []struct{ name, rev string }{{"install", "1"}, {"no-change upgrade", "1"}, {"one-value upgrade", "2"}}
	walls := map[string]map[string][]float64{}
	var floor []float64
	throttled := 0
	for run := 0; run < runs(); run++ {
		for _, tool := range tools {
			env.Command(t, "kubectl", append([]string{"delete", "crd", "--ignore-not-found", "--timeout=3m"}, crds...)...).Timeout(4 * time.Minute).Run()
			ns := env.Namespace(t)
			for _, phase := range phases {
				s := measure(t, proxy, deployCmd(t, env, tool, chart, "stack", ns, 10*time.Minute, "--set", "rev="+phase.rev))
				if s.exit != 0 {
					t.Fatalf("%s %s of the multi-kind chart: exit %d\n%s", tool, phase.name, s.exit, tail(s.output))
				}
				if tool == "converge" && strings.Contains(s.output, "client-side throttling") {
					throttled++
				}
				if walls[tool] == nil {
					walls[tool] = map[string][]float64{}
				}
				walls[tool][phase.name] = append(walls[tool][phase.name], seconds(s.wall))
				t.Logf("multi-kind %s %s: %s, %d requests (%s)", tool, phase.name, s.wall.Round(10*time.Millisecond), s.totalRequests(), verbs(s.requests))
			}
			if tool == "converge" {
				floor = append(floor, renderAndReadFloor(t, env, chart, ns))
			}
			env.Command(t, "kubectl", "delete", "namespace", ns, "--timeout=3m").Timeout(4 * time.Minute).Run()
			env.Command(t, "kubectl", append([]string{"delete", "--ignore-not-found"}, clusterScopedOf(ns)...)...).Run()
		}
	}
	env.Command(t, "kubectl", append([]string{"delete", "crd", "--ignore-not-found"}, crds...)...).Run()
	var rows [][]string
	for _, phase := range phases {
		c := statsOf(walls["converge"][phase.name])
		h3, h4 := statsOf(walls["helm3"][phase.name]), statsOf(walls["helm4"][phase.name])
		ratio3, ratio4 := c.median/h3.median, c.median/h4.median
		target := "≤ 1.0× helm v3: " + r.targetBecause(ratio3 <= 1.0, fmt.Sprintf("multi-kind chart %s: %.2f× helm v3", phase.name, ratio3),
			"on an install converge does more than helm v3: it renders the chart once before applying its CRDs (a chart that cannot render changes nothing), applies the CRDs with server-side apply and waits until they are established, reviews access, and tracks every object of the 34 kinds (one watch each) where helm v3 waits for a few kinds")
		if phase.name == "one-value upgrade" {
			target = ""
		}
		rows = append(rows, []string{phase.name, c.String(), h3.String(), h4.String(), trim(ratio3), trim(ratio4), target})
	}
	f := statsOf(floor)
	noChange := statsOf(walls["converge"]["no-change upgrade"])
	rows = append(rows, []string{"render + one GET per object", f.String(), "", "", "", "",
		fmt.Sprintf("no-change upgrade within 2 s of it (%.2f s more): %s", noChange.median-f.median, r.targetBecause(noChange.median <= f.median+2, fmt.Sprintf("multi-kind no-change upgrade: %.2f s above render + one GET per object", noChange.median-f.median),
			"the floor runs no hooks, and Helm's semantics run the chart's pre- and post-upgrade hook Jobs on every upgrade, about 2.5 s each on this cluster (helm v3 and v4 take as long for the same upgrade)"))})
	rows = append(rows, []string{"`client-side throttling` lines", strconv.Itoa(throttled), "", "", "", "", "none: " + r.target(throttled == 0, fmt.Sprintf("%d converge runs printed client-side throttling", throttled))})
	r.section("1b. A large chart of many kinds", fmt.Sprintf("A chart shaped like kube-prometheus-stack: %d objects of 34 kinds (Deployments, a StatefulSet, a DaemonSet, HPAs, PDBs, RBAC, webhooks, EndpointSlices, ...), pre/post-install hook Jobs, and a subchart whose crds/ holds 10 CRDs of 70–830 KB with one custom resource of each. Wall time in seconds, %d runs; each tool's install starts without the CRDs. The floor row is `kubectl converge render` plus `kubectl get -f` of the rendered objects (one GET each).", multiKindObjects, runs()),
		[]string{"case", "converge", "helm v3", "helm v4", "÷ helm v3", "÷ helm v4", "target"}, rows)
}

// multiKindObjects is how many objects the multi-kind chart renders (CRDs and hooks included).
const multiKindObjects = 11*7 + 17 + 2 + 10 + 10

// renderAndReadFloor is the least a no-change upgrade must do: render the chart and read
// every object once.
func renderAndReadFloor(t *testing.T, env *harness.Env, chart, ns string) float64 {
	start := time.Now()
	rendered := env.Command(t, "kubectl", "converge", "render", chart, "-n", ns, "--release", "stack").Succeed().Stdout
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	write(t, path, rendered)
	env.Command(t, "kubectl", "get", "-n", ns, "-f", path, "-o", "name", "--ignore-not-found").Succeed()
	return seconds(time.Since(start))
}

// TestWriteMultiKindChart writes the multi-kind chart (the public-chart-shaped one with
// CONVERGE_BENCH_CHART=public) into CONVERGE_BENCH_CHART_DIR, to profile one tool on it by hand.
func TestWriteMultiKindChart(t *testing.T) {
	dir := os.Getenv("CONVERGE_BENCH_CHART_DIR")
	if dir == "" {
		t.Skip("CONVERGE_BENCH_CHART_DIR names where to write the chart")
	}
	chart, _ := multiKindChart(t)
	if os.Getenv("CONVERGE_BENCH_CHART") == "public" {
		chart, _ = publicChart(t, false)
	}
	if err := os.CopyFS(dir, os.DirFS(chart)); err != nil {
		t.Fatal(err)
	}
}
