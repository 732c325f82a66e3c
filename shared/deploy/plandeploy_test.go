package deploy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
	"github.com/kubectl-converge/converge/shared/lifecycle"
)

// The property the plan promises: for any previous release, cluster state and chart, the
// actions the plan shows are the writes the deploy then makes; and the uninstall that follows
// writes what lifecycle.Decide says of each object. Releases, manual changes and
// annotations (resource policies, ownership anyone, before-creation) are generated; the
// writes are recorded by the fake API server.
func TestPlanActionsAreWhatTheDeployExecutes(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			checkPlanIsDeploy(t, rand.New(rand.NewPCG(seed, 29)))
		})
	}
}

// generated is one object of a generated chart.
type generated struct {
	name, annotation, data string
}

var generatedAnnotations = []string{"", "", "", "helm.sh/resource-policy: keep", "werf.io/resource-policy: keep", "werf.io/ownership: anyone",
	"werf.io/delete-policy: before-creation", "werf.io/deploy-on: install", "werf.io/deploy-on: upgrade",
	immutableAnnotation, "werf.io/delete-policy: succeeded"}

// immutableAnnotation marks the generated objects whose every update the fake API server
// refuses as a change of an immutable field: they are recreated instead.
const immutableAnnotation = "werf.io/delete-policy: before-creation-if-immutable"

// generatedHook is a hook's annotations: when it runs, werf's and Helm's delete policies.
func generatedHook(r *rand.Rand) string {
	pick := func(from ...string) string { return from[r.IntN(len(from))] }
	ann := "    helm.sh/hook: " + pick("pre-install", "pre-upgrade", "post-upgrade", "pre-install,post-upgrade") + "\n"
	if p := pick("", "succeeded", "before-creation", "failed"); p != "" {
		ann += "    werf.io/delete-policy: " + p + "\n"
	}
	// Not hook-succeeded alone: Helm cannot create a hook again while an earlier copy (left by
	// another policy) is there, whatever the plan says.
	if p := pick("", "before-hook-creation", "before-hook-creation,hook-succeeded"); p != "" {
		ann += "    helm.sh/hook-delete-policy: " + p + "\n"
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook-x\n  annotations:\n" + ann + "data:\n  v: \"1\"\n"
}

func generateChart(r *rand.Rand, names []string) ([]generated, map[string]string) {
	var objs []generated
	var docs []string
	for _, n := range names {
		if r.IntN(3) == 0 {
			continue
		}
		g := generated{name: n, annotation: generatedAnnotations[r.IntN(len(generatedAnnotations))], data: fmt.Sprint(r.IntN(2))}
		objs = append(objs, g)
		ann := ""
		if g.annotation != "" {
			ann = "  annotations:\n    " + g.annotation + "\n"
		}
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n%sdata:\n  v: %q\n", n, ann, g.data))
	}
	return objs, map[string]string{"templates/objects.yaml": strings.Join(docs, "---\n"), "templates/hook.yaml": generatedHook(r)}
}

func checkPlanIsDeploy(t *testing.T, r *rand.Rand) {
	e := newEngine(t)
	objects := []string{"obj-a", "obj-b", "obj-c", "obj-d", "obj-e", "obj-f"}
	names := append(slices.Clone(objects), "hook-x")
	previous, files := generateChart(r, objects)
	if _, err := e.converge(files, e.options()); err != nil {
		t.Fatalf("install: %v", err)
	}
	next, nextFiles := generateChart(r, objects)
	// With --force-adoption, objects of another release that the chart now has are taken over.
	forceAdoption := r.IntN(2) == 0
	inNext := map[string]generated{}
	for _, g := range next {
		inNext[g.name] = g
	}
	// Someone changes the cluster between the two: deletes an object, changes its data, gives it
	// to another release (only where the deploy may then touch it without failing).
	cms := e.clients.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(testNamespace)
	ctx := context.Background()
	var manual []string
	for _, g := range previous {
		live, err := cms.Get(ctx, g.name, metav1.GetOptions{})
		if err != nil {
			continue // kept out of the release by its annotations
		}
		switch r.IntN(4) {
		case 0:
			manual = append(manual, "deleted "+g.name)
			if err := cms.Delete(ctx, g.name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			continue
		case 1:
			manual = append(manual, "changed "+g.name)
			live.Object["data"] = map[string]any{"v": "manual"}
		case 2:
			if n, ok := inNext[g.name]; ok && strings.Contains(n.annotation, "before-creation") && !forceAdoption {
				continue // refused, and the deploy stops: another test's concern
			}
			manual = append(manual, "given to another release "+g.name)
			ann := live.GetAnnotations()
			ann["meta.helm.sh/release-name"] = "other"
			live.SetAnnotations(ann)
		default:
			continue
		}
		if _, err := cms.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if forceAdoption {
		for _, g := range next {
			if _, err := cms.Get(ctx, g.name, metav1.GetOptions{}); err == nil || r.IntN(2) == 0 {
				continue
			}
			foreign := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"v": "theirs"},
				"metadata": map[string]any{"name": g.name, "annotations": map[string]any{"meta.helm.sh/release-name": "other", "meta.helm.sh/release-namespace": testNamespace}}}}
			manual = append(manual, "created by another release "+g.name)
			if _, err := cms.Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.cluster.React(func(w fakecluster.Write) error {
		if g, ok := inNext[w.Name]; ok && w.Kind == "ConfigMap" && w.Verb == "patch" && g.annotation == immutableAnnotation {
			return apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, w.Name, field.ErrorList{field.Invalid(field.NewPath("data"), nil, "field is immutable")})
		}
		return nil
	})
	p := e.prepare(nextFiles)
	plan, planErr := MakePlan(ctx, e.client, p, PlanOptions{ForceAdoption: forceAdoption})
	var adoption *helmsdk.AdoptionError
	if planErr != nil && !errors.As(planErr, &adoption) {
		t.Fatalf("plan: %v", planErr)
	}
	planned := map[string]string{}
	if plan == nil {
		plan = &Plan{} // refused: another owner's object in the chart; the deploy writes nothing
	}
	for _, c := range plan.Changes {
		if c.Object.Kind == "ConfigMap" {
			planned[c.Object.Name] = writesOf(c)
		}
	}
	before := len(e.cluster.Writes())
	opts := e.options()
	opts.ForceAdoption = forceAdoption
	if _, err := Converge(ctx, e.client, e.clients, p, opts); (err == nil) != (planErr == nil) || (err != nil && !errors.As(err, &adoption)) {
		t.Fatalf("converge: %v; plan: %v", err, planErr)
	}
	executed := writesSince(e.cluster.Writes()[before:], names)
	for _, n := range names {
		if planned[n] != executed[n] {
			t.Errorf("%s: the plan's writes %q, the deploy's %q\nprevious %+v\nmanual changes %v\nnext %+v\nplan %+v", n, planned[n], executed[n], previous, manual, next, plan.Changes)
		}
	}
	if planErr != nil {
		return
	}

	// The uninstall follows the same rules: what lifecycle.Decide says of each object of the
	// newest revision (and its hook) as the cluster now holds it is what dismiss writes.
	decided := map[string]string{}
	gone := map[string]bool{}
	for _, n := range names {
		live, err := cms.Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			// Nothing to decide (ActionNone); Helm's uninstall may still send a delete that
			// finds nothing.
			gone[n] = true
			continue
		}
		in := lifecycle.Input{Mode: lifecycle.ModeUninstall, Release: "app", Namespace: testNamespace, Live: &lifecycle.Live{Annotations: live.GetAnnotations()}}
		g, inChart := inNext[n]
		switch {
		case n == "hook-x":
			in.Hook = true
		case !inChart || strings.Contains(g.annotation, "deploy-on: install"):
			continue // not in the newest revision: the uninstall does not look at it
		}
		rendered := map[string]string{}
		if g.annotation != "" {
			k, v, _ := strings.Cut(g.annotation, ": ")
			rendered[k] = v
		}
		l, err := lifecycle.Parse("ConfigMap", rendered)
		if err != nil {
			t.Fatal(err)
		}
		in.Previous = &l
		if lifecycle.Decide(in).Action == lifecycle.ActionDelete {
			decided[n] = "delete"
		}
	}
	before = len(e.cluster.Writes())
	if _, err := Dismiss(ctx, e.client, e.clients, DismissRequest{ReleaseName: "app", Namespace: testNamespace, Timeout: time.Minute}, nil); err != nil {
		t.Fatalf("dismiss: %v", err)
	}
	uninstalled := writesSince(e.cluster.Writes()[before:], names)
	for _, n := range names {
		if !gone[n] && decided[n] != uninstalled[n] {
			t.Errorf("%s: decided %q for the uninstall, dismiss wrote %q\nnext %+v", n, decided[n], uninstalled[n], next)
		}
	}
}

// writesSince are the verbs of the writes to each of names, dry runs left out.
func writesSince(writes []fakecluster.Write, names []string) map[string]string {
	out := map[string]string{}
	for _, w := range writes {
		if w.DryRun || w.Kind != "ConfigMap" || !slices.Contains(names, w.Name) {
			continue
		}
		verb := w.Verb
		if verb == "update" {
			verb = "patch"
		}
		out[w.Name] = strings.TrimPrefix(out[w.Name]+" "+verb, " ")
	}
	return out
}

// writesOf is what the deploy writes to execute a planned change. A hook that runs is deleted
// first by before-hook-creation (whether or not there is a copy), created, and deleted once
// it succeeded by hook-succeeded.
func writesOf(c Change) string {
	if c.Action == ActionHook {
		w := "create"
		if slices.Contains(c.Hook.DeletePolicies, "before-hook-creation") {
			w = "delete " + w
		}
		if slices.Contains(c.Hook.DeletePolicies, "hook-succeeded") {
			w += " delete"
		}
		return w
	}
	then := ""
	if slices.Contains(c.DeleteOn, lifecycle.DeletePolicySucceeded) {
		then = " delete" // generated objects are ready at once
	}
	switch c.Action {
	case ActionCreate:
		return "create" + then
	case ActionUpdate:
		return "patch" + then
	case ActionUnchanged:
		return strings.TrimPrefix(then, " ")
	case ActionAdopt:
		return "patch patch" + then // the chart's, then the record of the adoption
	case ActionRecreate:
		if c.Reason == lifecycle.ReasonImmutableField {
			return "patch delete create" + then // the update refused, then the recreation
		}
		return "delete create" + then
	case ActionDelete:
		return "delete"
	}
	return ""
}
