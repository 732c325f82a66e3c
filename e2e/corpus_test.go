package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// corpusCase is one chart of e2e/testdata/charts/corpus with what its upgrade changes.
type corpusCase struct {
	chart string
	// upgrade are the --set flags of the upgrade.
	upgrade []string
	// prepare adjusts the private copy of the chart; upgraded says it is the upgrade's copy.
	prepare func(t *testing.T, dir string, upgraded bool)
	// afterUpgrade checks what only the upgrade shows.
	afterUpgrade func(t *testing.T, env *harness.Env, nsConverge, nsHelm string)
}

// TestChartCorpus deploys charts shaped like the popular public ones with converge and with
// helm v3 side by side: install, upgrade with a change, plan, helm rollback and converge
// rollback, dismiss; after each step that deploys, the live objects of both releases are
// compared (same objects, same specs, apart from our annotations and what the cluster sets).
func TestChartCorpus(t *testing.T) {
	env := harness.Get(t)
	cases := []corpusCase{
		{
			chart:   "webstack",
			upgrade: []string{"--set", "greeting=bye,sessions.enabled=true"},
			prepare: func(*testing.T, string, bool) {},
			afterUpgrade: func(t *testing.T, env *harness.Env, nsConverge, nsHelm string) {
				for ns, release := range map[string]string{nsConverge: "corpus-c", nsHelm: "corpus-h"} {
					if got := jsonPath(t, env, ns, "configmap/"+release+"-webstack", "{.data.firstInstallMarker}"); got != "day-one" {
						t.Errorf("%s: lookup of an existing ConfigMap rendered %q, want day-one", ns, got)
					}
					if got := jsonPath(t, env, ns, "deployment/"+release+"-webstack", "{.spec.replicas}"); got != "3" {
						t.Errorf("%s: the upgrade reset the HPA-managed replicas to %s, want the 3 it had", ns, got)
					}
					if got := jsonPath(t, env, ns, "statefulset/"+release+"-sessions", "{.spec.template.spec.containers[0].ports[0].containerPort}"); got != "6380" {
						t.Errorf("%s: the aliased subchart enabled by its condition has port %q", ns, got)
					}
				}
			},
		},
		{
			chart:   "operator",
			upgrade: []string{"--set", "operator.logLevel=debug,rules.severity=critical"},
			prepare: func(t *testing.T, dir string, upgraded bool) {
				for _, kind := range []string{"AlertRule", "ScrapeTarget"} {
					writeFile(t, filepath.Join(dir, "charts", "crds", "crds", strings.ToLower(kind)+"s.yaml"), largeCRD(kind, upgraded))
				}
			},
			afterUpgrade: func(t *testing.T, env *harness.Env, _, _ string) {
				schema := env.Kubectl(t, "get", "crd", "alertrules.corpus.converge.test", "-o", "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.addedOnUpgrade.type}")
				if schema != "string" {
					t.Errorf("the field added to the CRD schema on upgrade is not in the cluster (type %q)", schema)
				}
			},
		},
	}
	t.Cleanup(func() {
		env.Kubectl(t, "delete", "crd", "alertrules.corpus.converge.test", "scrapetargets.corpus.converge.test", "--ignore-not-found", "--wait=false")
	})
	for _, c := range cases {
		t.Run(c.chart, func(t *testing.T) {
			installed := filepath.Join(t.TempDir(), c.chart)
			copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "corpus", c.chart), installed)
			c.prepare(t, installed, false)
			upgraded := filepath.Join(t.TempDir(), c.chart)
			copyDir(t, installed, upgraded)
			c.prepare(t, upgraded, true)
			nsC, nsH := env.Namespace(t), env.Namespace(t)
			// The two releases share the cluster's nodes: a DaemonSet's hostPort must differ.
			convergePorts, helmPorts := filepath.Join(t.TempDir(), "ports.yaml"), filepath.Join(t.TempDir(), "ports.yaml")
			writeFile(t, convergePorts, "nodeAgent: {hostPort: 9100}\n")
			writeFile(t, helmPorts, "nodeAgent: {hostPort: 9101}\n")
			converge := func(chart string, args ...string) harness.Result {
				t.Helper()
				res := env.Command(t, "kubectl", append([]string{"converge", chart, "-n", nsC, "--release", "corpus-c", "--timeout", "5m", "-f", convergePorts}, args...)...).Run()
				if res.ExitCode != 0 {
					t.Fatalf("converge: exit %d\n%s", res.ExitCode, res.Stderr)
				}
				return res
			}
			helm := func(args ...string) harness.Result {
				t.Helper()
				return env.Command(t, "helm3", args...).Succeed()
			}

			first := converge(installed)
			if c.chart == "webstack" && !strings.Contains(first.Stdout, "is installed as corpus-c") {
				t.Errorf("NOTES of the install: %q", first.Stdout)
			}
			helm("upgrade", "--install", "corpus-h", installed, "-n", nsH, "--wait", "--timeout", "5m", "-f", helmPorts)
			compareReleases(t, env, "install", nsC, nsH)

			if c.chart == "webstack" {
				for ns, release := range map[string]string{nsC: "corpus-c", nsH: "corpus-h"} {
					env.Kubectl(t, "-n", ns, "create", "configmap", release+"-webstack-first-install", "--from-literal=at=day-one")
					env.Kubectl(t, "-n", ns, "scale", "deployment/"+release+"-webstack", "--replicas=3")
				}
			}
			second := converge(upgraded, c.upgrade...)
			if c.chart == "webstack" && !strings.Contains(second.Stdout, "is upgraded to revision 2") {
				t.Errorf("NOTES of the upgrade: %q", second.Stdout)
			}
			helm(append([]string{"upgrade", "--install", "corpus-h", upgraded, "-n", nsH, "--wait", "--timeout", "5m", "-f", helmPorts}, c.upgrade...)...)
			compareReleases(t, env, "upgrade", nsC, nsH)
			c.afterUpgrade(t, env, nsC, nsH)

			plan := env.Command(t, "kubectl", append([]string{"converge", "plan", upgraded, "-n", nsC, "--release", "corpus-c", "--exit-code", "-f", convergePorts}, c.upgrade...)...).Run()
			if plan.ExitCode != 0 || !strings.Contains(plan.Stdout, "0 to create, 0 to update, 0 to recreate, 0 to delete") {
				t.Errorf("plan right after the upgrade: exit %d, want 0 and no changes\n%s", plan.ExitCode, plan.Combined())
			}

			helm("rollback", "corpus-c", "1", "-n", nsC, "--wait", "--timeout", "5m")
			rolled := env.Command(t, "kubectl", "converge", "rollback", "corpus-c", "2", "-n", nsC, "--timeout", "5m").Run()
			if rolled.ExitCode != 0 {
				t.Fatalf("converge rollback to the upgrade: exit %d\n%s", rolled.ExitCode, rolled.Stderr)
			}
			if got := statuses(helmHistory(t, env, "helm3", nsC, "corpus-c")); got != "superseded,superseded,superseded,deployed" {
				t.Errorf("history after helm rollback and converge rollback: %s", got)
			}
			compareReleases(t, env, "rollback", nsC, nsH)

			manifest := helm("get", "manifest", "corpus-c", "-n", nsC).Stdout
			if res := env.Command(t, "kubectl", "converge", "dismiss", "corpus-c", "-n", nsC, "--timeout", "5m").Run(); res.ExitCode != 0 {
				t.Fatalf("dismiss: exit %d\n%s", res.ExitCode, res.Stderr)
			}
			helm("uninstall", "corpus-h", "-n", nsH, "--wait", "--timeout", "5m")
			for _, o := range manifestObjects(t, manifest) {
				ns := o.namespace
				if ns == "" && o.namespaced {
					ns = nsC
				}
				args := []string{"get", o.resource(), "--ignore-not-found", "-o", "name"}
				if ns != "" {
					args = append(args, "-n", ns)
				}
				if out := strings.TrimSpace(env.Kubectl(t, args...)); out != "" {
					t.Errorf("%s is still there after dismiss", out)
				}
			}
		})
	}
}

// manifestObject is one object of a release manifest.
type manifestObject struct {
	apiVersion, kind, name, namespace string
	namespaced                        bool
}

// resource is the object as kubectl names it, group and version included.
func (o manifestObject) resource() string {
	group, version, found := strings.Cut(o.apiVersion, "/")
	if !found {
		return o.kind + "/" + o.name
	}
	return fmt.Sprintf("%s.%s.%s/%s", o.kind, version, group, o.name)
}

var clusterScoped = map[string]bool{"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true, "Namespace": true}

func manifestObjects(t *testing.T, manifest string) []manifestObject {
	t.Helper()
	var out []manifestObject
	for _, doc := range strings.Split(manifest, "\n---") {
		var m struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("manifest document: %v\n%s", err, doc)
		}
		if m.Kind == "" {
			continue
		}
		out = append(out, manifestObject{m.APIVersion, m.Kind, m.Metadata.Name, m.Metadata.Namespace, !clusterScoped[m.Kind]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].resource() < out[j].resource() })
	return out
}

// compareReleases checks that the converge release (corpus-c in nsC) and the helm release
// (corpus-h in nsH) hold the same objects with the same specs.
func compareReleases(t *testing.T, env *harness.Env, step, nsC, nsH string) {
	t.Helper()
	get := func(ns, release string) map[string]string {
		manifest := env.Command(t, "helm3", "get", "manifest", release, "-n", ns).Succeed().Stdout
		names := strings.NewReplacer(release, "RELEASE", ns, "NAMESPACE")
		out := map[string]string{}
		for _, o := range manifestObjects(t, manifest) {
			args := []string{"get", o.resource(), "-o", "json"}
			if o.namespaced {
				args = append(args, "-n", ns)
			}
			live := env.Kubectl(t, args...)
			out[names.Replace(o.resource())] = strings.ReplaceAll(names.Replace(normalizeLive(t, live)), `"hostPort":9101`, `"hostPort":9100`)
		}
		return out
	}
	converged, helmed := get(nsC, "corpus-c"), get(nsH, "corpus-h")
	var keys []string
	for k := range converged {
		keys = append(keys, k)
	}
	for k := range helmed {
		if _, ok := converged[k]; !ok {
			t.Errorf("%s: helm deployed %s, converge did not", step, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		h, ok := helmed[k]
		switch {
		case !ok:
			t.Errorf("%s: converge deployed %s, helm did not", step, k)
		case h != converged[k]:
			t.Errorf("%s: %s differs\nconverge: %s\nhelm:     %s", step, k, converged[k], h)
		}
	}
	if len(keys) == 0 {
		t.Fatalf("%s: the releases hold no objects", step)
	}
}

// ourAnnotation matches the metadata converge adds and helm does not, and checksums of
// rendered files (they hash the release name, which differs between the two releases).
var ourAnnotation = regexp.MustCompile(`^(kubectl-converge\.io/|werf\.io/|project\.werf\.io/|ci\.werf\.io/|deployment\.kubernetes\.io/revision$|checksum/)`)

// normalizeLive keeps what the chart decides: the object without its status, server-set
// metadata, our own annotations, allocated cluster IPs and the replicas of HPA-managed
// Deployments (the autoscaler's).
func normalizeLive(t *testing.T, raw string) string {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		t.Fatalf("live object: %v\n%s", err, raw)
	}
	delete(obj, "status")
	if md, ok := obj["metadata"].(map[string]any); ok {
		kept := map[string]any{"name": md["name"], "labels": md["labels"], "annotations": md["annotations"]}
		obj["metadata"] = kept
	}
	if spec, ok := obj["spec"].(map[string]any); ok {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
		if obj["kind"] == "Deployment" {
			delete(spec, "replicas")
		}
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for key, val := range v {
				if key == "annotations" {
					if ann, ok := val.(map[string]any); ok {
						for a := range ann {
							if ourAnnotation.MatchString(a) {
								delete(ann, a)
							}
						}
						if len(ann) == 0 {
							delete(v, key)
						}
						continue
					}
				}
				strip(val)
			}
		case []any:
			for _, e := range v {
				strip(e)
			}
		}
	}
	strip(obj)
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// largeCRD is a CRD of kind in corpus.converge.test with a schema of over 500 KB (more than a
// client-side apply annotation can hold); the upgraded one adds a field.
func largeCRD(kind string, upgraded bool) string {
	extra := ""
	if upgraded {
		extra = "addedOnUpgrade: {type: string, description: a field the chart's next version adds}"
	}
	return harness.LargeCRD("corpus.converge.test", kind, 520, extra)
}
