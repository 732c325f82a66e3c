package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestWerfComplex is werf's complex converge e2e (werf test/e2e/converge/complex_test.go and
// its _fixtures/complex) run on a werf project of ours with the same structure
// (e2e/testdata/werfcomplex): a root chart, a subchart and its subchart with the service
// values handed down by export-values at both levels, a chart used twice under two aliases
// (one disabled by its condition), an oci:// dependency, CRDs in the root's and the
// subchart's crds/, a Deployment hook with an empty delete policy, secret values, an extra
// secret values file and a secret file, and the values given with --values, --set,
// --set-string, --set-file and --secret-values together. As werf's test does, the states are
// committed one after the other into one git repository (each replacing the files of the one
// before) and converged back to back with no pause, the release and namespace werf's
// ([[ project ]]-[[ env ]]), werf's deploy report saved each time:
//
//   - state0 installs everything: the values each template sees, the objects present and
//     absent, the hooks run, the NOTES;
//   - state1 keeps one ConfigMap (with a key changed and one added by hand, as kubectl edit
//     does): the rest is gone when the converge ends, CRDs and hooks stay;
//   - state2 brings the removed Deployment back, never ready, with --auto-rollback: it fails
//     on the readiness probe (not the timeout), its revision is failed, the rollback
//     restores state1 and the Deployment is gone again;
//   - state3 replaces the hook Deployment with a hook Job that fails: the revision is failed,
//     and nothing is deleted.
//
// Then dismiss (hooks included, and what the failed revision dropped) and a converge of
// state0 again, which must install cleanly.
func TestWerfComplex(t *testing.T) {
	env := harness.Get(t)
	p := newWerfComplexProject(t, env)

	// state0
	p.commitState("state0")
	res, rep := p.converge(0, p.state0Args()...)
	p.wantReport(rep, 1, "deployed")
	p.wantValues("configmap/storefront-values", p.rootValues())
	p.wantValues("configmap/catalog-values", map[string]string{
		"werf_namespace":    p.namespace,
		"werf_env":          p.werfEnv,
		"werf_image_worker": p.images["worker"],

		"chart_name":    "catalog",
		"chart_version": "0.3.0",

		"template_base_path": "storefront/charts/catalog/templates",
		"template_name":      "storefront/charts/catalog/templates/configmap.yaml",

		"global_region":   "eu-kept",
		"kept":            "kept-in-catalog",
		"new_by_set":      "from-set",
		"new_from_parent": "from-parent",
		"by_set":          "from-set",
		"by_parent":       "from-parent",
		"by_parent_list":  "from-parent",
	})
	// The service values reach the subchart's own subchart through the second export-values.
	p.wantValues("configmap/indexer-values", map[string]string{
		"werf_namespace":    p.namespace,
		"werf_env":          p.werfEnv,
		"werf_image_worker": p.images["worker"],
		"chart_name":        "indexer",
		"template_name":     "storefront/charts/catalog/charts/indexer/templates/configmap.yaml",
		"global_region":     "eu-kept",
	})
	for name, image := range map[string]string{"storefront-web": p.images["web"], "catalog-api": p.images["worker"], "indexer": p.images["worker"], "storefront-warmup": p.images["web"]} {
		obj := p.live("deployment/" + name)
		p.wantMetadata(obj, true)
		if !obj.available() {
			t.Errorf("deployment/%s is not available after the converge: %v", name, obj.Status.Conditions)
		}
		if got := obj.Spec.Template.Spec.Containers[0].Image; got != image {
			t.Errorf("deployment/%s runs image %q, want %q (from --image through .Values.werf.image)", name, got, image)
		}
	}
	for _, object := range []string{"configmap/storefront-values", "configmap/catalog-values", "configmap/indexer-values", "configmap/promo-banner", "configmap/greeter", "service/storefront-web", "service/catalog-api", "service/storefront-warmup",
		"shelves.werfcomplex.converge.test/front-shelf", "crates.werfcomplex.converge.test/catalog-crate"} {
		p.wantMetadata(p.live(object), true)
	}
	// The disabled alias, the file .helmignore lists, the hook Job deleted once it succeeded.
	p.wantAbsent("configmap/popup-banner", "configmap/ignored-by-helmignore", "job/catalog-reindex")
	if notes := "The storefront " + p.release + " is open."; !strings.Contains(res.Stdout, notes) {
		t.Errorf("the NOTES %q are not printed:\n%s", notes, res.Stdout)
	}
	if !strings.Contains(res.Stderr, "job/catalog-reindex") {
		t.Errorf("the output does not show the hook job/catalog-reindex:\n%s", res.Stderr)
	}

	// state1: a key changed and a key added by hand, as kubectl edit does (field manager
	// kubectl-edit), both undone by the converge.
	p.commitState("state1")
	env.Kubectl(t, "-n", p.namespace, "patch", "configmap", "storefront-values", "--field-manager", "kubectl-edit", "--type", "merge",
		"-p", `{"data":{"set_back_after_manual_change":"changed-by-hand","added_by_hand":"removed-by-converge"}}`)
	// On a real cluster a Deployment takes up to its pods' grace period to go away; the
	// local cluster's pods go at once, so a finalizer holds storefront-web a few seconds.
	released := p.holdDeletion("deployment/storefront-web", 3*time.Second)
	_, rep = p.converge(0)
	p.wantAbsent("deployment/storefront-web")
	released()
	p.wantReport(rep, 2, "deployed")
	state1Values := map[string]string{
		"release_is_install": "false",
		"release_is_upgrade": "true",
		"release_revision":   "2",

		"set_back_after_manual_change": "chart-value",
	}
	p.wantValues("configmap/storefront-values", state1Values)
	// Hooks that left the chart stay, as in werf: nelm deletes a previous revision's object
	// only while it carries the release's metadata (nelm pkg/plan/resource_info.go, orphaned),
	// which hooks do not. (werf's test lists the hook Service among the absent ones, but its
	// resourceShouldNotExist accepts an object that exists; it checks the hook Deployment is
	// still there.) CRDs are never deleted.
	p.live("deployment/storefront-warmup")
	p.live("service/storefront-warmup")
	p.live("crd/shelves.werfcomplex.converge.test")
	p.live("crd/crates.werfcomplex.converge.test")
	// Checked at once, without waiting: the converge ends once what left the chart is gone.
	p.wantAbsent("deployment/storefront-web", "deployment/catalog-api", "deployment/indexer",
		"configmap/catalog-values", "configmap/indexer-values", "configmap/promo-banner", "configmap/greeter",
		"service/storefront-web", "service/catalog-api",
		"shelves.werfcomplex.converge.test/front-shelf", "crates.werfcomplex.converge.test/catalog-crate")

	// state2: storefront-web comes back right after its deletion, with another readiness
	// probe handler, and never becomes ready.
	p.commitState("state2")
	run := p.convergeCmd("--auto-rollback").Start()
	// The probe's grace (kubedog's window, 3.5 s for this probe) has passed.
	kubeletProbeFailure(t, env, p.namespace, "storefront-web", "web", 4*time.Second)
	res, rep = p.result(run.Wait(), 3)
	p.wantReport(rep, 3, "failed")
	if !strings.Contains(res.Stderr, "deploy/storefront-web") || !strings.Contains(res.Stderr, "ReadinessProbeFailed") {
		t.Errorf("the failure does not name deploy/storefront-web and its failed readiness probe:\n%s", res.Stderr)
	}
	if h := historyStatuses(t, env, p.namespace, p.release); h != "1:superseded 2:superseded 3:failed 4:deployed" {
		t.Errorf("history %q, want 1:superseded 2:superseded 3:failed 4:deployed (state1 rolled back to)", h)
	}
	p.wantValues("configmap/storefront-values", state1Values)
	p.wantAbsent("deployment/storefront-web")

	// state3: the hook Deployment's name is now a hook Job that fails.
	p.commitState("state3")
	_, rep = p.converge(3)
	p.wantReport(rep, 5, "failed")
	p.wantMetadata(p.live("job/storefront-warmup"), false)
	// A failed upgrade deletes nothing: what left the chart goes only after the hooks and the
	// objects succeeded (Helm's order), so revision 4's ConfigMap stays. nelm deletes it
	// before the pre-hooks (README "Switching from werf").
	p.wantValues("configmap/storefront-values", state1Values)

	// dismiss deletes the release's hooks too (werf's --with-hooks defaults to true), and what
	// the failed revision 5 dropped but revision 4 deployed, so the project installs again
	// from scratch.
	env.Command(t, "kubectl", "converge", "dismiss").Dir(p.dir).Env("WERF_ENV", p.werfEnv).Timeout(20 * time.Minute).Succeed()
	p.wantAbsent("deployment/storefront-warmup", "service/storefront-warmup", "job/storefront-warmup", "configmap/storefront-values")
	p.commitState("state0")
	_, rep = p.converge(0, p.state0Args()...)
	p.wantReport(rep, 1, "deployed")
	p.wantValues("configmap/storefront-values", p.rootValues())

	// What werf's test does after each run.
	env.Command(t, "kubectl", "converge", "dismiss", "--with-namespace").Dir(p.dir).Env("WERF_ENV", p.werfEnv).Timeout(20 * time.Minute).Succeed()
}

// werfComplexProject is the git repository of the werf project and what the test knows of it.
type werfComplexProject struct {
	t   *testing.T
	env *harness.Env
	dir string
	// registry serves the oci:// dependency greeter.
	registry string
	// werfEnv is WERF_ENV, unique per run: release and namespace are storefront-<werfEnv>.
	werfEnv, release, namespace string
	images                      map[string]string
	reportPath                  string
}

func newWerfComplexProject(t *testing.T, env *harness.Env) *werfComplexProject {
	t.Helper()
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	p := &werfComplexProject{
		t: t, env: env, dir: t.TempDir(), registry: harness.Registry(t),
		werfEnv: "test-" + hex.EncodeToString(suffix),
		images: map[string]string{
			"web":    "registry.example.com/storefront:web-0a1b2c",
			"worker": "registry.example.com/storefront:worker-3d4e5f",
		},
		reportPath: filepath.Join(t.TempDir(), ".werf-deploy-report.json"),
	}
	p.release, p.namespace = "storefront-"+p.werfEnv, "storefront-"+p.werfEnv
	t.Cleanup(func() {
		env.Command(t, "kubectl", "delete", "namespace", p.namespace, "--wait=false", "--ignore-not-found").Run()
	})
	// The oci:// dependency, published as werf's fixture finds its hello chart on ghcr.io.
	scratch := t.TempDir()
	helm := func(args ...string) {
		t.Helper()
		env.Command(t, "helm3", args...).Dir(scratch).Env("HELM_REGISTRY_CONFIG", filepath.Join(scratch, "registry.json")).Succeed()
	}
	helm("package", filepath.Join(p.testdata(), "greeter"), "-d", scratch)
	helm("push", filepath.Join(scratch, "greeter-1.4.0.tgz"), "oci://"+p.registry+"/charts", "--plain-http")
	git(t, p.dir, "init", "-q")
	return p
}

func (p *werfComplexProject) testdata() string {
	return filepath.Join(p.env.RepoRoot, "e2e", "testdata", "werfcomplex")
}

// commitState replaces every file of the repository with those of the state and commits
// them, as werf's SuiteData.UpdateTestRepo does (git rm -rf ., copy, git add, git commit).
// @REGISTRY@ stands for the registry of the oci:// dependency; state0 gets the
// requirements.lock Helm writes for it, as werf's fixture commits one.
func (p *werfComplexProject) commitState(state string) {
	t := p.t
	t.Helper()
	git(t, p.dir, "rm", "-rfq", "--ignore-unmatch", ".")
	src := filepath.Join(p.testdata(), state)
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		writeFile(t, filepath.Join(p.dir, rel), strings.ReplaceAll(string(data), "@REGISTRY@", p.registry))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if state == "state0" {
		writeFile(t, filepath.Join(p.dir, ".helm", "requirements.lock"), p.helmLock())
	}
	git(t, p.dir, "add", "-A")
	git(t, p.dir, "commit", "-qm", state)
}

// helmLock is the requirements.lock helm dependency update writes for the root chart (a
// chart without apiVersion is a v1 chart, whose lock has this name); helm needs a version to
// load the chart, werf does not.
func (p *werfComplexProject) helmLock() string {
	t := p.t
	t.Helper()
	scratch := filepath.Join(t.TempDir(), "storefront")
	copyDir(t, filepath.Join(p.dir, ".helm"), scratch)
	chartYAML, err := os.ReadFile(filepath.Join(scratch, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(scratch, "Chart.yaml"), "version: 1.0.0\n"+string(chartYAML))
	helmHome := t.TempDir()
	p.env.Command(t, "helm3", "dependency", "update", scratch, "--plain-http").
		Env("HELM_CONFIG_HOME", helmHome).Env("HELM_CACHE_HOME", filepath.Join(helmHome, "cache")).
		Env("HELM_REGISTRY_CONFIG", filepath.Join(helmHome, "registry.json")).Succeed()
	lock, err := os.ReadFile(filepath.Join(scratch, "requirements.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(lock)
}

// state0Args are the flags werf's test gives state0's converge, with our names, plus
// --set-file, --image for the images werf would have built, and --plain-http for the local
// registry.
func (p *werfComplexProject) state0Args() []string {
	return []string{
		"--set=new_by_set=from-set,by_set=from-set",
		"--set=catalog.new_by_set=from-set,catalog.by_set=from-set",
		"--set=new_by_set_list[0]=from-set,by_set_list[0]=from-set",
		"--set-string=new_by_set_string=from-set-string,by_set_string=0042",
		"--set-file=by_set_file=motd.txt",
		"--values=.helm/values-override.yaml",
		"--secret-values=.helm/secret-values-override.yaml",
		"--add-annotation=team.example.org/owner=checkout",
		"--add-label=team.example.org/tier=frontend",
		"--set=popup.enabled=false",
		"--image=web=" + p.images["web"],
		"--image=worker=" + p.images["worker"],
		"--plain-http",
	}
}

// rootValues is what the root chart's ConfigMap holds after state0's converge.
func (p *werfComplexProject) rootValues() map[string]string {
	return map[string]string{
		"werf_namespace": p.namespace,
		"werf_env":       p.werfEnv,
		"werf_image_web": p.images["web"],

		"chart_name":                   "storefront",
		"chart_version":                "1.0.0",
		"chart_app_version":            "2.3.0",
		"chart_deprecated":             "false",
		"chart_icon":                   "https://example.org/storefront.svg",
		"chart_description":            "A storefront in front of a catalog",
		"chart_home":                   "https://example.org/storefront",
		"chart_first_source":           "https://example.org/storefront.git",
		"chart_first_keyword":          "shop",
		"chart_annotation_team":        "checkout",
		"chart_first_maintainer_name":  "Ada",
		"chart_first_maintainer_email": "ada@example.org",
		"chart_first_maintainer_url":   "https://example.org/ada",

		"release_is_install": "true",
		"release_is_upgrade": "false",
		"release_name":       p.release,
		"release_namespace":  p.namespace,
		"release_revision":   "1",

		"template_base_path": "storefront/templates",
		"template_name":      "storefront/templates/configmap.yaml",

		"capabilities_kube_version_major":  "1",
		"capabilities_api_versions_has_v1": "true",

		"global_region":             "eu-kept",
		"kept":                      "kept",
		"new_by_set":                "from-set",
		"new_by_set_string":         "from-set-string",
		"new_by_values_file":        "from-values-file",
		"new_by_secret_values":      "from-secret-values",
		"new_by_secret_values_file": "from-secret-values-file",
		"new_by_set_list":           "from-set",
		"by_set":                    "from-set",
		"by_set_string":             "0042",
		"by_values_file":            "from-values-file",
		"by_secret_values":          "from-secret-values",
		"by_secret_values_file":     "from-secret-values-file",
		"by_set_file":               "welcome to the storefront",

		"kept_list":           "kept",
		"by_set_list":         "from-set",
		"by_values_file_list": "from-values-file",

		"shared_kept_by_import":  "kept-by-import",
		"shared_added_by_import": "added-by-import",

		"secret_file": "tok-4242-storefront",
	}
}

// converge runs kubectl converge in the repository as werf's test runs werf converge
// (WERF_ENV, WERF_REPO, the deploy report saved), expects exitCode and returns the output
// and the report.
func (p *werfComplexProject) converge(exitCode int, args ...string) (harness.Result, werfDeployReport) {
	p.t.Helper()
	return p.result(p.convergeCmd(args...).Run(), exitCode)
}

func (p *werfComplexProject) convergeCmd(args ...string) *harness.Cmd {
	_ = os.Remove(p.reportPath)
	args = append([]string{"converge", "--save-deploy-report", "--deploy-report-path", p.reportPath, "--progress", "plain"}, args...)
	return p.env.Command(p.t, "kubectl", args...).Dir(p.dir).
		Env("WERF_ENV", p.werfEnv).
		Env("WERF_REPO", "registry.example.com/storefront").
		Timeout(20 * time.Minute)
}

// result checks a converge's exit code and reads its report.
func (p *werfComplexProject) result(res harness.Result, exitCode int) (harness.Result, werfDeployReport) {
	t := p.t
	t.Helper()
	if res.ExitCode != exitCode {
		t.Fatalf("converge: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, exitCode, res.Stdout, res.Stderr)
	}
	data, err := os.ReadFile(p.reportPath)
	if err != nil {
		t.Fatalf("the deploy report: %v\n%s", err, res.Stderr)
	}
	var rep werfDeployReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("the deploy report: %v\n%s", err, data)
	}
	return res, rep
}

// werfDeployReport holds the fields of werf's deploy report its test reads (nelm
// pkg/helm/pkg/release/report.go, DeployReport).
type werfDeployReport struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Revision  int    `json:"revision"`
	Status    string `json:"status"`
}

func (p *werfComplexProject) wantReport(rep werfDeployReport, revision int, status string) {
	p.t.Helper()
	want := werfDeployReport{Release: p.release, Namespace: p.namespace, Revision: revision, Status: status}
	if rep != want {
		p.t.Fatalf("deploy report %+v, want %+v", rep, want)
	}
}

// liveObject is the part of a live object the test reads.
type liveObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Image string `json:"image"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
	Status struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

func (o liveObject) available() bool {
	for _, c := range o.Status.Conditions {
		if c.Type == "Available" {
			return c.Status == "True"
		}
	}
	return false
}

// live reads an object of the release's namespace; it must exist.
func (p *werfComplexProject) live(object string) liveObject {
	p.t.Helper()
	out := p.env.Kubectl(p.t, "-n", p.namespace, "get", object, "-o", "json")
	var obj liveObject
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		p.t.Fatalf("%s: %v", object, err)
	}
	return obj
}

// holdDeletion puts a finalizer on object and removes it once the object has been deleting
// for hold. The returned function (also run when the test ends) waits for that, and removes
// the finalizer if the object was never deleted.
func (p *werfComplexProject) holdDeletion(object string, hold time.Duration) (release func()) {
	t := p.t
	t.Helper()
	p.env.Kubectl(t, "-n", p.namespace, "patch", object, "--type", "merge", "-p", `{"metadata":{"finalizers":["converge.test/grace-period"]}}`)
	unhold := func() harness.Result {
		return p.env.Command(t, "kubectl", "-n", p.namespace, "patch", object, "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`).Run()
	}
	stop, done := make(chan struct{}), make(chan harness.Result, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- unhold()
				return
			case <-time.After(200 * time.Millisecond):
			}
			res := p.env.Command(t, "kubectl", "-n", p.namespace, "get", object, "-o", "jsonpath={.metadata.deletionTimestamp}").Run()
			if res.ExitCode == 0 && strings.TrimSpace(res.Stdout) != "" {
				time.Sleep(hold)
				done <- unhold()
				return
			}
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			if res := <-done; res.ExitCode != 0 && !strings.Contains(res.Stderr, "NotFound") {
				t.Errorf("remove the finalizer of %s: %s", object, res.Stderr)
			}
		})
	}
	// A test that stops before release leaves no finalizer to hold its namespace.
	t.Cleanup(release)
	return release
}

// wantAbsent checks, at once, that none of the objects exists.
func (p *werfComplexProject) wantAbsent(objects ...string) {
	p.t.Helper()
	for _, object := range objects {
		if got := strings.TrimSpace(p.env.Kubectl(p.t, "-n", p.namespace, "get", object, "--ignore-not-found", "-o", "name")); got != "" {
			p.t.Errorf("%s exists, want it absent", object)
		}
	}
}

// wantValues checks the whole data of a ConfigMap rendered from values.
func (p *werfComplexProject) wantValues(object string, want map[string]string) {
	p.t.Helper()
	obj := p.live(object)
	if maps.Equal(obj.Data, want) {
		return
	}
	keys := maps.Clone(want)
	maps.Copy(keys, obj.Data)
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if got, ok := obj.Data[k]; !ok {
			diff = append(diff, "missing "+k+": "+want[k])
		} else if w, ok := want[k]; !ok {
			diff = append(diff, "unexpected "+k+": "+got)
		} else if got != w {
			diff = append(diff, k+": "+got+", want "+w)
		}
	}
	p.t.Errorf("%s data differs:\n  %s", object, strings.Join(diff, "\n  "))
}

// wantMetadata checks werf's service annotations and labels (werf's
// checkServiceLabelsAndAnnos: the release's on every object but hooks, werf's version and
// env on all) and, when added, those state0 gives with --add-annotation/--add-label.
func (p *werfComplexProject) wantMetadata(obj liveObject, added bool) {
	p.t.Helper()
	name, labels, annotations := obj.Kind+"/"+obj.Metadata.Name, obj.Metadata.Labels, obj.Metadata.Annotations
	want := func(what string, m map[string]string, key, value string) {
		p.t.Helper()
		if got, ok := m[key]; !ok || (value != "" && got != value) {
			p.t.Errorf("%s: %s %s=%q, want %q", name, what, key, got, value)
		}
	}
	if _, hook := annotations["helm.sh/hook"]; !hook {
		want("label", labels, "app.kubernetes.io/managed-by", "Helm")
		want("annotation", annotations, "meta.helm.sh/release-name", p.release)
		want("annotation", annotations, "meta.helm.sh/release-namespace", p.namespace)
	}
	want("annotation", annotations, "werf.io/version", "")
	want("annotation", annotations, "project.werf.io/env", p.werfEnv)
	if !added {
		return
	}
	want("label", labels, "team.example.org/tier", "frontend")
	want("annotation", annotations, "team.example.org/owner", "checkout")
}
