package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	res := env.Command(t, "kubectl", "converge", "--image", "backend=registry.example.com/shop/backend:abc123@sha256:0123", "--progress", "plain").Dir(repo).
		Env("KUBECONFIG", "").
		Env("WERF_ENV", werfEnv).
		Env("WERF_KUBE_CONFIG_BASE64", base64.StdEncoding.EncodeToString(kubeconfig)).
		Env("WERF_SECRET_KEY", key).
		Env("WERF_TIMEOUT", "600").
		Env("WERF_REPO", "registry.example.com/shop").
		Env("WERF_SET_REPLICAS", "replicas=3").
		Env("WERF_ADD_ANNOTATION_TEAM", "team=payments").
		Env("WERF_RELEASE_LABEL_TEAM", "team=payments").
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
	run := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "10m", "--progress", "plain").Timeout(11 * time.Minute).Start()
	var podName, uid string
	for podName == "" {
		out := env.Command(t, "kubectl", "-n", ns, "get", "pods", "-l", "app=web", "-o", `jsonpath={range .items[?(@.status.containerStatuses[0].state.running)]}{.metadata.name} {.metadata.uid}{end}`).Run().Stdout
		if name, id, ok := strings.Cut(strings.TrimSpace(out), " "); ok {
			podName, uid = name, id
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	env.Apply(t, ns, `apiVersion: v1
kind: Event
metadata: {name: web-unhealthy}
involvedObject: {apiVersion: v1, kind: Pod, name: `+podName+`, namespace: `+ns+`, uid: `+uid+`, fieldPath: "spec.containers{app}"}
reason: Unhealthy
type: Warning
message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
firstTimestamp: "`+now+`"
lastTimestamp: "`+now+`"
count: 1
source: {component: kubelet}
`)
	res := run.Wait()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "ReadinessProbeFailed") || !strings.Contains(res.Stderr, "statuscode: 503") {
		t.Fatalf("exit %d, want 3 naming the failed readiness probe\n%s", res.ExitCode, res.Stderr)
	}
}
