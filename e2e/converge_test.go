package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

func TestConvergeInstallsExampleApp(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	res := env.Command(t, "kubectl", "converge", filepath.Join(env.RepoRoot, "examples", "demo-app"), "-n", ns).Succeed()
	if !strings.Contains(res.Stdout, "demo-app is running in namespace "+ns) {
		t.Fatalf("converge did not print the chart's NOTES:\n%s", res.Combined())
	}
	if !strings.Contains(res.Stderr, `release "demo-app" revision 1 deployed`) {
		t.Fatalf("converge did not report the deployed revision:\n%s", res.Stderr)
	}
	if ready := jsonPath(t, env, ns, "deployment/demo-app-web", "{.status.readyReplicas}"); ready != "2" {
		t.Fatalf("demo-app-web has %q ready replicas after converge, want 2", ready)
	}
}

func TestConvergeWithoutChartIsUsageError(t *testing.T) {
	env := harness.Get(t)
	res := env.Command(t, "kubectl", "converge", "-n", "default").Dir(t.TempDir()).Run()
	if res.ExitCode != 64 {
		t.Fatalf("exit code %d, want 64 (usage)\n%s", res.ExitCode, res.Combined())
	}
	if !strings.Contains(res.Stderr, "no chart found") || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
		t.Fatalf("want a one-line error naming the missing chart, got:\n%s", res.Stderr)
	}
}

// TestReleaseLifecycle installs, upgrades, rolls back and dismisses a release, checking the
// live objects and that real helm 3 and helm 4 read the same history.
func TestReleaseLifecycle(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := shopChart(t, env)
	converge := func(args ...string) harness.Result {
		t.Helper()
		return env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns}, args...)...).Succeed()
	}

	converge("--set", "greeting=first")
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "first" {
		t.Fatalf("greeting after install = %q", got)
	}
	if got := secretValue(t, env, ns, "shop-db", "password"); got != "changeme" {
		t.Fatalf("secret password after install = %q", got)
	}
	if ready := jsonPath(t, env, ns, "deployment/shop-web", "{.status.readyReplicas}"); ready != "2" {
		t.Fatalf("deployment/shop-web ready replicas = %q, want 2", ready)
	}
	if got := jsonPath(t, env, ns, "service/shop-web", "{.spec.ports[0].port}"); got != "80" {
		t.Fatalf("service port = %q", got)
	}

	converge("--set", "greeting=second", "--set", "replicas=3")
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "second" {
		t.Fatalf("greeting after upgrade = %q", got)
	}
	if ready := jsonPath(t, env, ns, "deployment/shop-web", "{.status.readyReplicas}"); ready != "3" {
		t.Fatalf("deployment/shop-web ready replicas after upgrade = %q, want 3", ready)
	}

	for _, helm := range []string{"helm3", "helm4"} {
		if got := statuses(helmHistory(t, env, helm, ns, "shop")); got != "superseded,deployed" {
			t.Fatalf("%s history statuses = %s, want superseded,deployed", helm, got)
		}
		list := env.Command(t, helm, "list", "-n", ns, "-o", "json").Succeed().Stdout
		if !strings.Contains(list, `"name":"shop"`) || !strings.Contains(list, `"revision":"2"`) || !strings.Contains(list, `"status":"deployed"`) {
			t.Fatalf("%s list does not show revision 2 deployed:\n%s", helm, list)
		}
	}

	rb := env.Command(t, "kubectl", "converge", "rollback", "shop", "-n", ns).Succeed()
	if !strings.Contains(rb.Stderr, "revision 3") {
		t.Fatalf("rollback did not report revision 3:\n%s", rb.Combined())
	}
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "first" {
		t.Fatalf("greeting after rollback = %q, want the first revision's", got)
	}
	var hist []struct {
		Revision int    `json:"revision"`
		Status   string `json:"status"`
	}
	out := env.Command(t, "kubectl", "converge", "history", "shop", "-n", ns, "-o", "json").Succeed().Stdout
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist) != 3 || hist[2].Status != "deployed" {
		t.Fatalf("converge history -o json = %s (%v)", out, err)
	}
	table := env.Command(t, "kubectl", "converge", "history", "shop", "-n", ns).Succeed().Stdout
	if !strings.Contains(table, "REVISION") || !strings.Contains(table, "shop-1.2.3") || !strings.Contains(table, "Rollback to 1") {
		t.Fatalf("converge history table:\n%s", table)
	}
	if got := statuses(helmHistory(t, env, "helm4", ns, "shop")); got != "superseded,superseded,deployed" {
		t.Fatalf("helm4 history after rollback = %s", got)
	}

	// An explicit revision.
	env.Command(t, "kubectl", "converge", "rollback", "shop", "2", "-n", ns).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "second" {
		t.Fatalf("greeting after rollback to 2 = %q", got)
	}

	dismiss := env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", ns, "--progress", "plain").Succeed()
	if !strings.Contains(dismiss.Stderr, "uninstalled") || !strings.Contains(dismiss.Stderr, "deploy/shop-web deleted") {
		t.Fatalf("dismiss output:\n%s", dismiss.Combined())
	}
	left := env.Kubectl(t, "-n", ns, "get", "deployment,service,configmap,secret", "-l", "!kubernetes.io/metadata.name", "-o", "name")
	for _, name := range []string{"deployment.apps/shop-web", "service/shop-web", "configmap/shop-config", "secret/shop-db"} {
		if strings.Contains(left, name) {
			t.Fatalf("%s still exists after dismiss:\n%s", name, left)
		}
	}
	again := env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", ns).Succeed()
	if !strings.Contains(again.Stderr, "not found") {
		t.Fatalf("dismissing a missing release should say so:\n%s", again.Combined())
	}
}

// TestHelmAndConvergeUpgradeEachOther: a release installed by helm is upgraded by converge,
// and helm upgrades what converge deployed.
func TestHelmAndConvergeUpgradeEachOther(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := shopChart(t, env)
	// Plain helm knows neither werf_secret_file nor werf's service values.
	if err := os.Remove(filepath.Join(chart, "templates", "secret-file.yaml")); err != nil {
		t.Fatal(err)
	}
	helmValues := []string{"--set-json", `werf={"image":{},"tag":{},"env":"","namespace":""}`, "--set-json", `global={"env":"","werf":{"images":{}}}`}
	env.Command(t, "helm3", append([]string{"install", "shop", chart, "-n", ns, "--wait", "--set", "greeting=from-helm3"}, helmValues...)...).Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=from-converge").Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "from-converge" {
		t.Fatalf("greeting = %q after converge upgraded the helm release", got)
	}
	env.Command(t, "helm4", append([]string{"upgrade", "shop", chart, "-n", ns, "--wait", "--set", "greeting=from-helm4"}, helmValues...)...).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "from-helm4" {
		t.Fatalf("greeting = %q after helm4 upgraded the converge release", got)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	if got := statuses(helmHistory(t, env, "helm3", ns, "shop")); got != "superseded,superseded,superseded,deployed" {
		t.Fatalf("helm3 history = %s", got)
	}
}

// TestInjectionAndGlobalMetadataOnLiveObjects checks every object, the hook Job included.
func TestInjectionAndGlobalMetadataOnLiveObjects(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := shopChart(t, env)
	images := filepath.Join(t.TempDir(), "images.yaml")
	writeFile(t, images, "migrate: registry.example.com/shop/migrate:7.0.0\nweb: will-be-overridden/web:0\n")
	env.Command(t, "kubectl", "converge", chart, "-n", ns,
		"--image", "web=registry.example.com/shop/web:2.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"--images-file", images,
		"--rewrite-image", "nginx=mirror.example.com/nginx",
		"--add-annotation", "team=shop", "--add-label", "tier=backend", "--env", "staging").
		Env("WERF_ADD_ANNOTATION_OWNER", "owner.example.com/name=alice").
		Env("WERF_ADD_LABEL_COST", "cost-center=42").
		Env("GITHUB_ACTIONS", "true").Env("GITHUB_REPOSITORY", "acme/shop").Env("GITHUB_RUN_ID", "99").Env("GITHUB_SHA", "deadbeef").
		Succeed()
	release := "shop-staging"
	objects := []string{"deployment/" + release + "-web", "service/" + release + "-web", "configmap/" + release + "-config", "secret/" + release + "-db", "job/" + release + "-migrate"}
	for _, obj := range objects {
		ann := jsonPath(t, env, ns, obj, "{.metadata.annotations}")
		for _, want := range []string{`"team":"shop"`, `"owner.example.com/name":"alice"`, `"kubectl-converge.io/env":"staging"`, `"kubectl-converge.io/version":`, `"ci.werf.io/commit":"deadbeef"`, `"github.ci.werf.io/workflow-run-url":"https://github.com/acme/shop/actions/runs/99"`} {
			if !strings.Contains(ann, want) {
				t.Errorf("%s annotations lack %s: %s", obj, want, ann)
			}
		}
		labels := jsonPath(t, env, ns, obj, "{.metadata.labels}")
		if !strings.Contains(labels, `"tier":"backend"`) || !strings.Contains(labels, `"cost-center":"42"`) {
			t.Errorf("%s labels lack tier and cost-center: %s", obj, labels)
		}
	}
	if podLabels := jsonPath(t, env, ns, "deployment/"+release+"-web", "{.spec.template.metadata.labels}"); strings.Contains(podLabels, "tier") {
		t.Errorf("global labels reached the pod template: %s", podLabels)
	}
	images0 := jsonPath(t, env, ns, "deployment/"+release+"-web", "{.spec.template.spec.containers[*].image}")
	if images0 != "registry.example.com/shop/web:2.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef mirror.example.com/nginx:1.25" {
		t.Errorf("deployment images = %q", images0)
	}
	if got := jsonPath(t, env, ns, "job/"+release+"-migrate", "{.spec.template.spec.containers[0].image}"); got != "registry.example.com/shop/migrate:7.0.0" {
		t.Errorf("hook job image = %q, want the one from --images-file", got)
	}
	cm := jsonPath(t, env, ns, "configmap/"+release+"-config", "{.data}")
	for _, want := range []string{`"env":"staging"`, `"globalEnv":"staging"`, `"namespace":"` + ns + `"`, `"imageRef":"registry.example.com/shop/web:2.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, `"imageTag":"2.0.0"`} {
		if !strings.Contains(cm, want) {
			t.Errorf("configmap data lacks %s: %s", want, cm)
		}
	}
}

func TestConvergeJSONOutputAndExplicitRelease(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	res := env.Command(t, "kubectl", "converge", shopChart(t, env), "-n", ns, "--release", "orders", "-o", "json").Succeed()
	// stdout holds JSON lines: the tracking events, then the result.
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	var last struct {
		Type   string          `json:"type"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Type != "result" {
		t.Fatalf("the last stdout line is not the result: %v\n%s", err, res.Stdout)
	}
	var out struct {
		Release struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Revision  int    `json:"revision"`
			Status    string `json:"status"`
		} `json:"release"`
		Resources []struct{ Kind, Name string } `json:"resources"`
	}
	if err := json.Unmarshal(last.Result, &out); err != nil {
		t.Fatalf("the result is not the JSON result: %v\n%s", err, res.Stdout)
	}
	if out.Release.Name != "orders" || out.Release.Namespace != ns || out.Release.Revision != 1 || out.Release.Status != "deployed" || len(out.Resources) != 4 {
		t.Fatalf("JSON result = %+v", out)
	}
	if !strings.Contains(res.Stderr, "converge:") {
		t.Fatalf("progress should go to stderr:\n%s", res.Stderr)
	}
	bad := env.Command(t, "kubectl", "converge", shopChart(t, env), "-n", ns, "--release", "Not_Valid").Run()
	if bad.ExitCode != 64 || !strings.Contains(bad.Stderr, `--release "Not_Valid"`) {
		t.Fatalf("invalid --release: exit %d\n%s", bad.ExitCode, bad.Stderr)
	}
}

func TestHistoryMaxAndNoCreateNamespace(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := shopChart(t, env)
	for i := 0; i < 4; i++ {
		env.Command(t, "kubectl", "converge", chart, "-n", ns, "--history-max", "2", "--set", "replicas=1").Succeed()
	}
	revs := helmHistory(t, env, "helm3", ns, "shop")
	if len(revs) != 2 || revs[1].Revision != 4 {
		t.Fatalf("with --history-max 2 after 4 converges, history = %+v", revs)
	}
	missing := ns + "-absent"
	res := env.Command(t, "kubectl", "converge", chart, "-n", missing, "--no-create-namespace", "--timeout", "30s").Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, missing) {
		t.Fatalf("--no-create-namespace into a missing namespace: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}

func TestDeployFailureAndTimeoutExitCodes(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := shopChart(t, env)
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()

	// A stuck rollout: the new pods never become ready.
	stuck := filepath.Join(chart, "templates", "stuck.yaml")
	writeFile(t, stuck, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata:
      labels: {app: stuck}
      annotations: {converge.test/behaviour: never-ready}
    spec:
      containers: [{name: app, image: registry.example.com/stuck:1}]
`)
	start := time.Now()
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "5s").Run()
	if res.ExitCode != 4 {
		t.Fatalf("stuck rollout: exit code %d, want 4 (timeout) after %s\n%s", res.ExitCode, time.Since(start), res.Stderr)
	}
	// An object the API server rejects.
	writeFile(t, stuck, "apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports:\n  - port: 70000\n")
	res = env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "30s").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "broken") {
		t.Fatalf("rejected object: exit code %d, want 3 naming the object\n%s", res.ExitCode, res.Stderr)
	}
	// Nothing is left pending and the history records the failures.
	if got := statuses(helmHistory(t, env, "helm3", ns, "shop")); strings.Contains(got, "pending") || !strings.HasSuffix(got, "failed") {
		t.Fatalf("history after failures = %s", got)
	}
}

func TestDismissWithNamespace(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t) + "-own"
	chart := shopChart(t, env)
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	kept := filepath.Join(chart, "templates", "kept.yaml")
	writeFile(t, kept, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations: {helm.sh/resource-policy: keep}\ndata: {a: b}\n")
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	writeFile(t, filepath.Join(chart, "templates", "cleanup.yaml"), `apiVersion: batch/v1
kind: Job
metadata:
  name: cleanup
  annotations: {helm.sh/hook: pre-delete}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: registry.example.com/cleanup:1}]
`)
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	// --with-hooks=false keeps the hook Job to look at (by default dismiss deletes it too).
	env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", ns, "--with-hooks=false").Succeed()
	if got := jsonPath(t, env, ns, "job/cleanup", "{.status.succeeded}"); got != "1" {
		t.Fatalf("the pre-delete hook did not run to completion during dismiss (succeeded=%q)", got)
	}
	if got := jsonPath(t, env, ns, "configmap/kept", "{.data.a}"); got != "b" {
		t.Fatalf("the keep-policy ConfigMap did not survive dismiss: %q", got)
	}
	// The release is gone: --with-namespace has nothing of its own to delete.
	res := env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", ns, "--with-namespace").Succeed()
	if !strings.Contains(res.Stderr, "namespace left in place") || env.Command(t, "kubectl", "get", "namespace", ns).Run().ExitCode != 0 {
		t.Fatalf("dismiss --with-namespace of a missing release touched namespace %s:\n%s", ns, res.Stderr)
	}

	// A namespace that existed before the release stays; the one converge created goes.
	existing := strings.TrimSuffix(ns, "-own")
	env.Command(t, "kubectl", "converge", chart, "-n", existing).Succeed()
	res = env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", existing, "--with-namespace").Succeed()
	if !strings.Contains(res.Stderr, "was not created by converge") || env.Command(t, "kubectl", "get", "namespace", existing).Run().ExitCode != 0 {
		t.Fatalf("dismiss --with-namespace deleted a namespace the release did not create:\n%s", res.Stderr)
	}
	created := ns
	env.Command(t, "kubectl", "converge", chart, "-n", created).Succeed()
	res = env.Command(t, "kubectl", "converge", "dismiss", "shop", "-n", created, "--with-namespace").Succeed()
	if !strings.Contains(res.Stderr, "namespace \""+created+"\" deleted") {
		t.Fatalf("dismiss --with-namespace output:\n%s", res.Stderr)
	}
	if out := env.Command(t, "kubectl", "get", "namespace", created).Run(); out.ExitCode == 0 {
		t.Fatalf("namespace %s still exists after dismiss --with-namespace", created)
	}
}

// TestDismissWithNamespaceKeepsAnotherRelease: dismiss --with-namespace keeps the namespace it
// created when another release lives there, or an object someone else made with kubectl,
// saying why in one line; --force-namespace deletes it.
func TestDismissWithNamespaceKeepsAnotherRelease(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t) + "-two"
	chart := shopChart(t, env)
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "a").Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "b").Succeed()
	res := env.Command(t, "kubectl", "converge", "dismiss", "a", "-n", ns, "--with-namespace").Succeed()
	if !strings.Contains(res.Stderr, `namespace "`+ns+`" holds release "b" too: left in place`) {
		t.Fatalf("dismiss --with-namespace output:\n%s", res.Stderr)
	}
	if env.Command(t, "kubectl", "get", "namespace", ns).Run().ExitCode != 0 {
		t.Fatalf("namespace %s deleted although it holds release b", ns)
	}
	if got := statuses(helmHistory(t, env, "helm3", ns, "b")); got != "deployed" {
		t.Fatalf("history of release b after dismissing a = %s", got)
	}
	// An object someone else created there (kubectl apply) keeps it too, the release
	// holding nothing else.
	env.Command(t, "kubectl", "converge", "dismiss", "b", "-n", ns).Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "a").Succeed()
	theirs := filepath.Join(t.TempDir(), "theirs.yaml")
	writeFile(t, theirs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs}\ndata: {a: b}\n")
	env.Kubectl(t, "-n", ns, "apply", "-f", theirs)
	res = env.Command(t, "kubectl", "converge", "dismiss", "a", "-n", ns, "--with-namespace").Succeed()
	if !strings.Contains(res.Stderr, `namespace "`+ns+`" holds configmap "theirs", which release "a" does not own: left in place (--force-namespace deletes it anyway)`) {
		t.Fatalf("dismiss --with-namespace output:\n%s", res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/theirs", "{.data.a}"); got != "b" {
		t.Fatalf("the kubectl-made ConfigMap after dismissing a: %q", got)
	}
	// --force-namespace deletes it anyway.
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "a").Succeed()
	res = env.Command(t, "kubectl", "converge", "dismiss", "a", "-n", ns, "--with-namespace", "--force-namespace").Succeed()
	if !strings.Contains(res.Stderr, "namespace \""+ns+"\" deleted") {
		t.Fatalf("dismiss --with-namespace --force-namespace output:\n%s", res.Stderr)
	}
	if env.Command(t, "kubectl", "get", "namespace", ns).Run().ExitCode == 0 {
		t.Fatalf("namespace %s still exists after dismiss --force-namespace", ns)
	}
}
