package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// werfRepo writes a repository laid out as a werf 1.2 project: werf.yaml with project shop
// and a deploy.namespace template, .helm/ without Chart.yaml, a secret-values.yaml werf
// encrypted (werf's own e2e fixture), werf-giterminism.yaml; committed at a fixed date so
// that the commit is the same in every run.
func werfRepo(t *testing.T, env *harness.Env) (dir, secretKey string) {
	t.Helper()
	dir = t.TempDir()
	fixture := filepath.Join(env.RepoRoot, "shared", "secrets", "testdata", "werf-e2e-complex")
	key, err := os.ReadFile(filepath.Join(fixture, "werf_secret_key"))
	if err != nil {
		t.Fatal(err)
	}
	secretValues, err := os.ReadFile(filepath.Join(fixture, "secret-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "werf.yaml"), `project: shop
configVersion: 1
deploy:
  namespace: "[[ env ]]-[[ project ]]"
---
image: backend
dockerfile: Dockerfile
`)
	writeFile(t, filepath.Join(dir, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\n")
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "replicas: 1\ngreeting: hello\n")
	writeFile(t, filepath.Join(dir, ".helm", "secret-values.yaml"), string(secretValues))
	writeFile(t, filepath.Join(dir, ".helm", "templates", "values.yaml"), `apiVersion: v1
kind: ConfigMap
metadata: {name: service-values}
data:
  werf: {{ toJson .Values.werf | quote }}
  global: {{ toJson .Values.global | quote }}
  chart: "{{ .Chart.Name }} {{ .Chart.Version }}"
  replicas: "{{ .Values.replicas }}"
---
apiVersion: v1
kind: Secret
metadata: {name: from-secret-values}
stringData: {value: {{ .Values.added_via_secret_values | quote }}}
`)
	cmd := exec.Command("sh", "-c", "git init -q && git add -A && git commit -qm werf-project")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@test", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@test",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05+01:00", "GIT_COMMITTER_DATE=2026-01-02T03:04:05+01:00")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	return dir, strings.TrimSpace(string(key))
}

// TestWerfProjectInWerfCI converges a werf-layout repository the way a werf CI job would run
// werf converge: no argument, only WERF_* variables (the kubeconfig too), images given with
// --image. The release and namespace are werf's ([[ project ]]-[[ env ]] for the release,
// deploy.namespace for the namespace), the chart is named after the project at version
// 1.0.0, the service values and automatic annotations are werf's.
func TestWerfProjectInWerfCI(t *testing.T) {
	env := harness.Get(t)
	repo, key := werfRepo(t, env)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	werfEnv := "prod" + hex.EncodeToString(suffix)
	// werf's rules (pkg/config/deploy_params): release [[ project ]]-[[ env ]], namespace from
	// deploy.namespace; both are valid names, so no slug.
	release, namespace := "shop-"+werfEnv, werfEnv+"-shop"
	t.Cleanup(func() {
		env.Command(t, "kubectl", "delete", "namespace", namespace, "--wait=false", "--ignore-not-found").Run()
	})
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	res := env.Command(t, "kubectl", "converge", "--image", "backend=registry.example.com/shop/backend:abc123@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "--progress", "plain").Dir(repo).
		Env("KUBECONFIG", "").
		Env("WERF_ENV", werfEnv).
		Env("WERF_KUBE_CONFIG_BASE64", base64.StdEncoding.EncodeToString(kubeconfig)).
		Env("WERF_SECRET_KEY", key).
		Env("WERF_TIMEOUT", "600").
		Env("WERF_REPO", "registry.example.com/shop").
		Env("WERF_SET_REPLICAS", "replicas=3").
		Env("WERF_ADD_ANNOTATION_TEAM", "team=payments").
		Env("WERF_RELEASE_LABEL_TEAM", "team=payments").
		// What werf ci-env (cmd/werf/ci_env) sets in every werf CI job: accepted.
		Env("WERF_LOG_COLOR_MODE", "off").
		Env("WERF_LOG_PROJECT_DIR", "1").
		Env("WERF_LOG_TERMINAL_WIDTH", "95").
		Env("WERF_ENABLE_PROCESS_EXTERMINATOR", "1").
		Env("WERF_REPO_CONTAINER_REGISTRY", "default").
		Succeed()
	if !strings.Contains(res.Stderr, `release "`+release+`" in namespace "`+namespace+`" from chart shop 1.0.0`) || !strings.Contains(res.Stderr, "waiting up to 10m0s") {
		t.Fatalf("want release %s in namespace %s, chart shop 1.0.0, a 10m timeout:\n%s", release, namespace, res.Stderr)
	}

	var listed []struct{ Name, Chart string }
	if err := json.Unmarshal([]byte(env.Command(t, "helm3", "list", "-n", namespace, "-o", "json").Succeed().Stdout), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("helm list: %v %v", listed, err)
	}
	if listed[0].Name != release || listed[0].Chart != "shop-1.0.0" {
		t.Fatalf("helm list: %+v, want release %s of chart shop-1.0.0", listed[0], release)
	}
	if got := strings.TrimSpace(env.Kubectl(t, "-n", namespace, "get", "secrets", "-l", "owner=helm,team=payments", "-o", "name")); got != "secret/sh.helm.release.v1."+release+".v1" {
		t.Fatalf("release storage labelled team=payments: %q", got)
	}
	if got := jsonPath(t, env, namespace, "configmap/service-values", "{.data.replicas}"); got != "3" {
		t.Fatalf("replicas %q: WERF_SET_REPLICAS not applied", got)
	}
	if got := secretValue(t, env, namespace, "from-secret-values", "value"); got != "added_via_secret_values" {
		t.Fatalf("secret value %q: werf's secret-values.yaml not decrypted with WERF_SECRET_KEY", got)
	}
	annotations := map[string]string{}
	if err := json.Unmarshal([]byte(jsonPath(t, env, namespace, "configmap/service-values", "{.metadata.annotations}")), &annotations); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"project.werf.io/name": "shop", "project.werf.io/env": werfEnv, "team": "payments"} {
		if annotations[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, annotations[k], want)
		}
	}
	if annotations["werf.io/version"] == "" {
		t.Errorf("no werf.io/version annotation: %v", annotations)
	}

	// The service values, with what differs between runs (the environment, the tool's
	// version) put in words, as a golden file; the facts werf defines are checked here too.
	version := annotations["werf.io/version"]
	var werf, global map[string]any
	for name, into := range map[string]*map[string]any{"werf": &werf, "global": &global} {
		if err := json.Unmarshal([]byte(jsonPath(t, env, namespace, "configmap/service-values", "{.data."+name+"}")), into); err != nil {
			t.Fatal(err)
		}
	}
	commit := werf["commit"].(map[string]any)
	if commit["hash"] != headCommit(t, repo) || commit["date"].(map[string]any)["unix"] != float64(1767319445) {
		t.Fatalf("werf.commit %v, want HEAD %s at 1767319445", commit, headCommit(t, repo))
	}
	if werf["name"] != "shop" || werf["env"] != werfEnv || werf["namespace"] != namespace || werf["repo"] != "registry.example.com/shop" {
		t.Fatalf("werf values %v", werf)
	}
	if werf["version"] != version || global["werf"].(map[string]any)["version"] != version {
		t.Fatalf("werf.version %v and global.werf.version %v, want the tool's version %s", werf["version"], global["werf"].(map[string]any)["version"], version)
	}
	// The version changes with every build (and may look like a number): put in words before
	// the values are written out.
	werf["version"], global["werf"].(map[string]any)["version"] = "VERSION", "VERSION"
	data, err := yaml.Marshal(map[string]any{"werf": werf, "global": global})
	if err != nil {
		t.Fatal(err)
	}
	stable := strings.ReplaceAll(string(data), werfEnv, "ENV")
	goldenIn(t, "werf", "service-values", stable)
}

// TestChartWithoutVersion deploys a Chart.yaml without version as version 1.0.0, as werf
// does, outside a werf project.
func TestChartWithoutVersion(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "nover", map[string]string{"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"})
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: nover\n")
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "120").Succeed()
	if !strings.Contains(res.Stderr, "from chart nover 1.0.0, waiting up to 2m0s") {
		t.Fatalf("want chart nover 1.0.0 and a 2m timeout (120 seconds):\n%s", res.Stderr)
	}
	if got := env.Command(t, "helm3", "list", "-n", ns, "-o", "json").Succeed().Stdout; !strings.Contains(got, `"chart":"nover-1.0.0"`) {
		t.Fatalf("helm list: %s", got)
	}
}

// TestNeverReadyFailsOnReadinessProbeFailures: a Deployment whose pod runs but never becomes
// ready, with werf.io/failures-allowed-per-replica "0", fails as soon as its readiness probe
// fails (the kubelet's Unhealthy event), naming the probe's message, as werf does; it does
// not wait for --timeout.
func TestNeverReadyFailsOnReadinessProbeFailures(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "probe", map[string]string{"templates/web.yaml": appDeployment("web", `werf.io/failures-allowed-per-replica: "0"`, "converge.test/behaviour: never-ready", "")})
	res := runWithProbeFailure(t, env, ns, chart, "10m")
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "ReadinessProbeFailed") || !strings.Contains(res.Stderr, "statuscode: 503") {
		t.Fatalf("exit %d, want 3 naming the failed readiness probe\n%s", res.ExitCode, res.Stderr)
	}
}

// TestIgnoreReadinessProbeFailsFor: the same never-ready Deployment with
// werf.io/ignore-readiness-probe-fails-for-app: 1h does not fail on the probe failure; it
// waits, and ends with the timeout.
func TestIgnoreReadinessProbeFailsFor(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "probe", map[string]string{"templates/web.yaml": appDeployment("web",
		`werf.io/failures-allowed-per-replica: "0", werf.io/ignore-readiness-probe-fails-for-app: 1h`, "converge.test/behaviour: never-ready", "")})
	res := runWithProbeFailure(t, env, ns, chart, "30s")
	if res.ExitCode != 4 || strings.Contains(res.Stderr, "ReadinessProbeFailed") {
		t.Fatalf("exit %d, want 4 (timeout) without a readiness probe failure\n%s", res.ExitCode, res.Stderr)
	}
}

// runWithProbeFailure converges chart and, once its pod runs, records a kubelet event of a
// failed readiness probe for container app.
func runWithProbeFailure(t *testing.T, env *harness.Env, ns, chart, timeout string) harness.Result {
	t.Helper()
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", timeout, "--progress", "plain").Timeout(11 * time.Minute).Start()
	kubeletProbeFailure(t, env, ns, "web", "app", 0)
	return run.Wait()
}

// kubeletProbeFailure waits for a running pod labelled app=APP and records, once its
// container has run for grace, the event a kubelet records when the container's readiness
// probe fails. The local cluster's never-ready pods report one such event, a second after
// they start and without the container's field path; a kubelet goes on reporting them every
// probe period.
func kubeletProbeFailure(t *testing.T, env *harness.Env, ns, app, container string, grace time.Duration) {
	t.Helper()
	var podName, uid, started string
	for podName == "" {
		out := env.Command(t, "kubectl", "-n", ns, "get", "pods", "-l", "app="+app, "-o",
			`jsonpath={range .items[?(@.status.containerStatuses[0].state.running)]}{.metadata.name} {.metadata.uid} {.status.containerStatuses[0].state.running.startedAt}{end}`).Run().Stdout
		if fields := strings.Fields(out); len(fields) == 3 {
			podName, uid, started = fields[0], fields[1], fields[2]
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if at, err := time.Parse(time.RFC3339, started); err == nil {
		time.Sleep(time.Until(at.Add(grace + time.Second)))
	}
	now := time.Now().UTC().Format(time.RFC3339)
	env.Apply(t, ns, `apiVersion: v1
kind: Event
metadata: {name: `+podName+`-unhealthy}
involvedObject: {apiVersion: v1, kind: Pod, name: `+podName+`, namespace: `+ns+`, uid: `+uid+`, fieldPath: "spec.containers{`+container+`}"}
reason: Unhealthy
type: Warning
message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
firstTimestamp: "`+now+`"
lastTimestamp: "`+now+`"
count: 1
source: {component: kubelet}
`)
}

// TestManualChangesAreRemoved: a data key someone added to the release's ConfigMap with
// kubectl (field manager kubectl-patch) is shown by the plan and removed by the next converge,
// as nelm does; --no-remove-manual-changes (or WERF_NO_REMOVE_MANUAL_CHANGES) keeps it, and its
// plan shows no change. A chart's value someone changed is set back either way.
func TestManualChangesAreRemoved(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "manual", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	env.Kubectl(t, "-n", ns, "patch", "configmap", "settings", "--type", "merge", "-p", `{"data":{"extra":"by-hand"}}`)

	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns).Succeed().Stdout
	if got := changedLines(plan); !slices.Contains(got, `-  extra: by-hand`) {
		t.Fatalf("the plan does not show the manual key's removal (changed lines %q):\n%s", got, plan)
	}
	kept := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--no-remove-manual-changes").Succeed().Stdout
	if got := changedLines(kept); len(got) != 0 {
		t.Fatalf("with --no-remove-manual-changes the plan shows changes %q:\n%s", got, kept)
	}

	env.Command(t, "kubectl", "converge", chart, "-n", ns).Env("WERF_NO_REMOVE_MANUAL_CHANGES", "true").Succeed()
	if got := jsonPath(t, env, ns, "configmap/settings", "{.data.extra}"); got != "by-hand" {
		t.Fatalf("WERF_NO_REMOVE_MANUAL_CHANGES: the manual key is %q, want it kept", got)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "configmap/settings", "{.data}"); got != `{"a":"b"}` {
		t.Fatalf("after the default converge the data is %s, want only the chart's", got)
	}
}

// TestNelmShortDependencyForms: nelm's "<id>.dependency.werf.io: apiVersion:kind:name" makes
// an object wait until another of the release exists (state present: not until it is ready),
// and "<id>.external-dependency.werf.io: v1:Secret:name" until an object outside the release
// exists and is ready.
func TestNelmShortDependencyForms(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "shortdeps", map[string]string{
		"templates/app.yaml": appDeployment("db", "", `converge.test/behaviour: slow-start, converge.test/start-delay: 8s`, "") +
			appDeployment("api", `db.dependency.werf.io: "apps/v1:Deployment:db"`, "", "") +
			appDeployment("worker", `creds.external-dependency.werf.io: "v1:Secret:late-creds"`, "", ""),
	})
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns).Start()
	harness.Eventually(t, time.Minute, func() string {
		if !strings.Contains(run.Stderr(), "deploy/worker waiting for secret/late-creds") {
			return "converge has not said that worker waits for the Secret:\n" + run.Stderr()
		}
		return ""
	})
	env.Kubectl(t, "-n", ns, "create", "secret", "generic", "late-creds", "--from-literal=k=v")
	if res := run.Wait(); res.ExitCode != 0 {
		t.Fatalf("converge exit %d:\n%s", res.ExitCode, res.Combined())
	}
	db, api := creationTime(t, env, ns, "deployment/db"), creationTime(t, env, ns, "deployment/api")
	dbReady := podReadyTime(t, env, ns, "db")
	if api.Before(db) || !api.Before(dbReady) {
		t.Fatalf("api created at %s; want once db exists (%s) and before db is ready (%s): the short form waits for presence", api, db, dbReady)
	}
	secret, worker := creationTime(t, env, ns, "secret/late-creds"), creationTime(t, env, ns, "deployment/worker")
	if worker.Before(secret) {
		t.Fatalf("worker created at %s, before its external dependency at %s", worker, secret)
	}
}

// podReadyTime is when the first pod labelled app=NAME turned ready.
func podReadyTime(t *testing.T, env *harness.Env, ns, app string) time.Time {
	t.Helper()
	out := env.Kubectl(t, "-n", ns, "get", "pods", "-l", "app="+app, "-o", `jsonpath={.items[0].status.conditions[?(@.type=="Ready")].lastTransitionTime}`)
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("pod of %s ready since %q: %v", app, out, err)
	}
	return at
}

// TestWerfWeightOrdersHooks: werf.io/weight on hooks wins over helm.sh/hook-weight, as in
// nelm: "first" (helm weight 5, werf weight -5) runs before "second" (helm weight 0), the
// reverse of Helm's own order, and the plan shows the weights used.
func TestWerfWeightOrdersHooks(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "hookweights", map[string]string{
		"templates/hooks.yaml": werfJob("first", `helm.sh/hook: pre-install, helm.sh/hook-weight: "5", werf.io/weight: "-5"`) +
			werfJob("second", `helm.sh/hook: pre-install, helm.sh/hook-weight: "0"`),
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
	})
	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "-o", "json").Succeed().Stdout
	if !strings.Contains(plan, `"weight": -5`) && !strings.Contains(plan, `"weight":-5`) {
		t.Fatalf("the plan does not show werf's weight -5 of the hook first:\n%s", plan)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	first, second := creationTime(t, env, ns, "job/first"), creationTime(t, env, ns, "job/second")
	if !first.Before(second) {
		t.Fatalf("hook first created at %s, second at %s: werf.io/weight -5 must run first", first, second)
	}
}

// TestOwnershipAnyoneAndWerfKeep: an object annotated werf.io/ownership: anyone is applied
// over an existing object nobody owns, gets no release metadata, and survives both leaving
// the chart and the uninstall; werf.io/resource-policy: keep survives the uninstall; the
// release's own objects go.
func TestOwnershipAnyoneAndWerfKeep(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {a: by-hand}\n")
	cm := func(name, annotations string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  annotations: {" + annotations + "}\ndata: {a: chart}\n---\n"
	}
	chart := writeChart(t, "anyone", map[string]string{
		"templates/cms.yaml": cm("settings", "") + cm("shared", "werf.io/ownership: anyone") + cm("kept", "werf.io/resource-policy: keep") +
			`{{ if .Values.extra }}` + cm("extra", "werf.io/ownership: anyone") + `{{ end }}`,
		"values.yaml": "extra: true\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shared", "{.data.a}"); got != "chart" {
		t.Fatalf("shared data.a %q, want the chart's", got)
	}
	if got := jsonPath(t, env, ns, "configmap/shared", "{.metadata.annotations}{.metadata.labels}"); strings.Contains(got, "meta.helm.sh/release-name") || strings.Contains(got, "managed-by") {
		t.Fatalf("an object owned by anyone got release metadata: %s", got)
	}

	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "extra=false", "-o", "json").Succeed().Stdout
	if !regexp.MustCompile(`"action":\s*"keep",\s*"object":\s*\{[^}]*"name":\s*"extra"`).MatchString(plan) {
		t.Fatalf("the plan does not keep cm/extra:\n%s", plan)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "extra=false").Succeed()
	env.Kubectl(t, "-n", ns, "get", "configmap", "extra")

	res := env.Command(t, "kubectl", "converge", "dismiss", "anyone", "-n", ns).Succeed()
	for _, line := range []string{`keep ConfigMap "shared": it is annotated werf.io/ownership: anyone`, `keep ConfigMap "kept": it is annotated werf.io/resource-policy: keep`} {
		if !strings.Contains(res.Stderr, line) {
			t.Errorf("dismiss does not say %q:\n%s", line, res.Stderr)
		}
	}
	if got := env.Kubectl(t, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}"); !strings.Contains(got, "shared") || !strings.Contains(got, "kept") || !strings.Contains(got, "extra") || strings.Contains(got, "settings") {
		t.Fatalf("configmaps after dismiss: %s; want shared, kept and extra, not settings", got)
	}
}

// TestDeleteDependencyOrdersDeletions: nelm's werf.io/delete-dependency-<id> deletes an object
// only once the objects it names are gone, both when they leave the chart and on dismiss. The
// first object is held by a finalizer: the dependent one must still be there, untouched, until
// the finalizer is removed.
func TestDeleteDependencyOrdersDeletions(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	pair := func(first, second string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + first + "\n  finalizers: [converge.test/hold]\ndata: {a: b}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + second + "\n  annotations: {werf.io/delete-dependency-first: \"state=absent,kind=ConfigMap,name=" + first + "\"}\ndata: {a: b}\n---\n"
	}
	chart := writeChart(t, "deletedeps", map[string]string{
		"templates/cms.yaml": `{{ if .Values.removable }}` + pair("ingress-like", "service-like") + `{{ end }}` + pair("held", "after-held"),
		"values.yaml":        "removable: true\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()

	heldThenReleased := func(run *harness.Running, first, second string) harness.Result {
		t.Helper()
		harness.Eventually(t, time.Minute, func() string {
			if jsonPath(t, env, ns, "configmap/"+first, "{.metadata.deletionTimestamp}") == "" {
				return first + " is not being deleted yet:\n" + run.Stderr()
			}
			return ""
		})
		time.Sleep(3 * time.Second)
		if got := jsonPath(t, env, ns, "configmap/"+second, "{.metadata.name}/{.metadata.deletionTimestamp}"); got != second+"/" {
			t.Fatalf("%s is %q while %s is still there: it must wait", second, got, first)
		}
		env.Kubectl(t, "-n", ns, "patch", "configmap", first, "--type", "json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
		res := run.Wait()
		if res.ExitCode != 0 {
			t.Fatalf("exit %d:\n%s", res.ExitCode, res.Combined())
		}
		if out := env.Kubectl(t, "-n", ns, "get", "configmaps", "--ignore-not-found", first, second, "-o", "name"); strings.TrimSpace(out) != "" {
			t.Fatalf("still there: %s", out)
		}
		return res
	}
	heldThenReleased(env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "removable=false").Start(), "ingress-like", "service-like")
	heldThenReleased(env.Command(t, "kubectl", "converge", "dismiss", "deletedeps", "-n", ns).Start(), "held", "after-held")
}

// TestDismissInterruptedWhileADeletionWaits: SIGINT while a dismiss waits for an object held
// by a finalizer (werf.io/delete-dependency) ends it at once, saying why, with the lock
// released and the dependent object not deleted; the next dismiss finishes the job.
func TestDismissInterruptedWhileADeletionWaits(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "dismissint", map[string]string{
		"templates/cms.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [converge.test/hold]\ndata: {a: b}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-held\n  annotations: {werf.io/delete-dependency-held: \"state=absent,kind=ConfigMap,name=held\"}\ndata: {a: b}\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	run := env.Command(t, "kubectl", "converge", "dismiss", "dismissint", "-n", ns).Start()
	harness.Eventually(t, time.Minute, func() string {
		if jsonPath(t, env, ns, "configmap/held", "{.metadata.deletionTimestamp}") == "" {
			return "held is not being deleted yet:\n" + run.Stderr()
		}
		return ""
	})
	if err := run.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// Without the interruption the wait would go on until the 15-minute timeout and say so.
	res := run.Wait()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "interrupted while waiting for the deletion of cm/held (deleting, waiting for finalizers converge.test/hold") || !strings.Contains(res.Stderr, "run dismiss again") {
		t.Fatalf("exit %d after SIGINT:\n%s", res.ExitCode, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/after-held", "{.metadata.name}/{.metadata.deletionTimestamp}"); got != "after-held/" {
		t.Fatalf("after-held is %q: it was deleted while held was still there", got)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "lease", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("the lock is still there: %s", out)
	}
	if h := historyStatuses(t, env, ns, "dismissint"); h != "1:uninstalling" {
		t.Fatalf("history %q, want 1:uninstalling", h)
	}
	env.Kubectl(t, "-n", ns, "patch", "configmap", "held", "--type", "json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	env.Command(t, "kubectl", "converge", "dismiss", "dismissint", "-n", ns).Succeed()
	if out := env.Kubectl(t, "-n", ns, "get", "configmaps", "--ignore-not-found", "held", "after-held", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("still there after the second dismiss: %s", out)
	}
}

// TestDeployOnMainStages: nelm's werf.io/deploy-on: install deploys an object on the first
// install only (it leaves the release on the upgrade, as nelm warns; ownership anyone keeps
// it), deploy-on: upgrade only from the first upgrade on; the plan shows the same.
func TestDeployOnMainStages(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	cm := func(name, annotations string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  annotations: {" + annotations + "}\ndata: {a: b}\n---\n"
	}
	chart := writeChart(t, "deployon", map[string]string{
		"templates/cms.yaml": cm("always", "") + cm("install-only", "werf.io/deploy-on: install") +
			cm("seed", `werf.io/deploy-on: install, werf.io/ownership: anyone`) + cm("upgrade-only", "werf.io/deploy-on: upgrade"),
	})
	names := func() string {
		var ours []string
		for _, n := range strings.Fields(env.Kubectl(t, "-n", ns, "get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}")) {
			if n != "kube-root-ca.crt" && n != "werf-synchronization" {
				ours = append(ours, n)
			}
		}
		return strings.Join(ours, " ")
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := names(); got != "always install-only seed" {
		t.Fatalf("after the install: %q, want always, install-only and seed", got)
	}
	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns).Run()
	for _, want := range []string{"+ create ConfigMap/upgrade-only", "- delete ConfigMap/install-only"} {
		if !strings.Contains(plan.Stdout, want) {
			t.Errorf("the upgrade's plan does not say %q:\n%s", want, plan.Stdout)
		}
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := names(); got != "always seed upgrade-only" {
		t.Fatalf("after the upgrade: %q, want always, seed (owned by anyone) and upgrade-only", got)
	}
}

// TestWerfDeletePolicySucceeded: werf.io/delete-policy: succeeded deletes a Job of the release
// once tracking found it complete, and a hook Job once it succeeded (Helm alone keeps both).
func TestWerfDeletePolicySucceeded(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "deletepolicy", map[string]string{
		"templates/jobs.yaml": werfJob("migrate", `werf.io/delete-policy: succeeded`) + werfJob("kept", "") +
			werfJob("hook", `helm.sh/hook: post-install, werf.io/delete-policy: succeeded`) + werfJob("kept-hook", `helm.sh/hook: post-install`),
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Succeed()
	if !strings.Contains(res.Stderr, "deleted job/migrate: it succeeded and is annotated werf.io/delete-policy: succeeded") {
		t.Errorf("the deletion is not said:\n%s", res.Stderr)
	}
	if got := env.Kubectl(t, "-n", ns, "get", "jobs", "-o", "jsonpath={.items[*].metadata.name}"); got != "kept kept-hook" {
		t.Fatalf("jobs after the converge: %q, want only kept and kept-hook", got)
	}
}

// werfJob is a Job with the annotations given (a flow-mapping body) whose pod runs 2 s.
func werfJob(name, annotations string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  annotations: {` + annotations + `}
spec:
  template:
    metadata: {annotations: {converge.test/run-time: 2s}}
    spec: {restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
---
`
}

// TestWerfDeletePolicyFailed: werf.io/delete-policy: failed deletes a Job of the release once
// tracking found it failed; the converge still fails, naming it.
func TestWerfDeletePolicyFailed(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "deletefailed", map[string]string{
		"templates/job.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: broken
  annotations: {werf.io/delete-policy: failed}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {converge.test/behaviour: job-failure}}
    spec: {restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
`,
	})
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "deleted job/broken: it failed and is annotated werf.io/delete-policy: failed") {
		t.Fatalf("exit %d, want 3 with the failed Job deleted\n%s", res.ExitCode, res.Stderr)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "jobs", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("jobs left: %s", out)
	}
}
