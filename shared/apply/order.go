package apply

import (
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"math"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// applyStep is one object of the release and what it waits for.
type applyStep struct {
	obj       *unstructured.Unstructured
	lifecycle lifecycle.Lifecycle
	// decision is what applyOne decided and executed (lifecycle.Decide).
	decision lifecycle.Decision
	// waitsFor are the objects of the release applied (and, for DependencyStateReady, ready)
	// before this one.
	waitsFor []stepDependency
	// effectiveWeight is the weight raised to that of the declared dependencies.
	effectiveWeight int
	wave            int
}

type stepDependency struct {
	step  *applyStep
	state lifecycle.DependencyState
}

// applyGroup is the objects of one weight: applied together (in waves when they depend on
// each other) and ready before the next group starts.
type applyGroup struct {
	Weight int
	waves  [][]*applyStep
}

// applyOrder orders a release's objects.
type applyOrder struct {
	groups []*applyGroup
	// warnings are declared dependencies that match nothing in the release.
	warnings []string
}

// firstWeight puts CRDs and Namespaces before every weight group: other objects need them.
const firstWeight = math.MinInt

// orderObjects groups objects by werf.io/weight (raised by declared deploy dependencies on
// heavier objects) and orders each group into waves by the dependencies inside it, declared
// and inferred from pod templates. namespace is where objects without one live.
func orderObjects(objects []*unstructured.Unstructured, namespace string) (*applyOrder, error) {
	plan := &applyOrder{}
	steps := make([]*applyStep, 0, len(objects))
	for _, o := range objects {
		l, err := lifecycle.Parse(o.GetKind(), o.GetAnnotations())
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace" {
			l.Weight = firstWeight
		}
		steps = append(steps, &applyStep{obj: o, lifecycle: l})
	}
	index := newObjectIndex(steps, namespace)
	for _, s := range steps {
		for _, d := range s.lifecycle.Dependencies {
			matched := index.match(d, objectNamespace(s.obj, namespace))
			if len(matched) == 0 {
				plan.warnings = append(plan.warnings, fmt.Sprintf("%s %q: %s%s matches no object of the release; not waiting for it", s.obj.GetKind(), s.obj.GetName(), lifecycle.AnnotationDeployDependencyPrefix, d.ID))
			}
			for _, m := range matched {
				if m != s {
					s.waitsFor = append(s.waitsFor, stepDependency{step: m, state: d.State})
				}
			}
		}
	}
	if err := raiseWeights(steps); err != nil {
		return nil, err
	}
	for _, s := range steps {
		for _, ref := range podTemplateReferences(s.obj) {
			if m := index.get(ref.kind, objectNamespace(s.obj, namespace), ref.name); m != nil && m.effectiveWeight == s.effectiveWeight {
				s.waitsFor = append(s.waitsFor, stepDependency{step: m, state: lifecycle.DependencyStatePresent})
			}
		}
	}
	byWeight := map[int]*applyGroup{}
	for _, s := range steps {
		g := byWeight[s.effectiveWeight]
		if g == nil {
			g = &applyGroup{Weight: s.effectiveWeight}
			byWeight[s.effectiveWeight] = g
			plan.groups = append(plan.groups, g)
		}
		g.waves = append(g.waves, []*applyStep{s})
	}
	sort.SliceStable(plan.groups, func(i, j int) bool { return plan.groups[i].Weight < plan.groups[j].Weight })
	for _, g := range plan.groups {
		if err := g.orderWaves(); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// raiseWeights gives every object at least the weight of the objects it declares to wait for,
// so that a dependency never points at a later group.
func raiseWeights(steps []*applyStep) error {
	const (
		unvisited = iota
		visiting
		visited
	)
	state := map[*applyStep]int{}
	var visit func(s *applyStep, path []string) error
	visit = func(s *applyStep, path []string) error {
		path = append(path, Describe(s.obj))
		switch state[s] {
		case visiting:
			return fmt.Errorf("deploy dependencies form a cycle: %s", strings.Join(path, " -> "))
		case visited:
			return nil
		}
		state[s] = visiting
		s.effectiveWeight = s.lifecycle.Weight
		for _, d := range s.waitsFor {
			if err := visit(d.step, path); err != nil {
				return err
			}
			if d.step.effectiveWeight > s.effectiveWeight {
				s.effectiveWeight = d.step.effectiveWeight
			}
		}
		state[s] = visited
		return nil
	}
	for _, s := range steps {
		if err := visit(s, nil); err != nil {
			return err
		}
	}
	return nil
}

// orderWaves puts every object one wave after the latest object of its group it waits for.
func (g *applyGroup) orderWaves() error {
	var members []*applyStep
	in := map[*applyStep]bool{}
	for _, w := range g.waves {
		members = append(members, w...)
		in[w[0]] = true
	}
	done := map[*applyStep]bool{}
	var place func(s *applyStep, path []string) error
	place = func(s *applyStep, path []string) error {
		if done[s] {
			return nil
		}
		path = append(path, Describe(s.obj))
		if len(path) > len(members) {
			return fmt.Errorf("dependencies form a cycle: %s", strings.Join(path, " -> "))
		}
		s.wave = 0
		for _, d := range s.waitsFor {
			if !in[d.step] {
				continue
			}
			if err := place(d.step, path); err != nil {
				return err
			}
			if d.step.wave+1 > s.wave {
				s.wave = d.step.wave + 1
			}
		}
		done[s] = true
		return nil
	}
	last := 0
	for _, s := range members {
		if err := place(s, nil); err != nil {
			return err
		}
		if s.wave > last {
			last = s.wave
		}
	}
	g.waves = make([][]*applyStep, last+1)
	for _, s := range members {
		g.waves[s.wave] = append(g.waves[s.wave], s)
	}
	return nil
}

// label names a group in the event stream.
func (g *applyGroup) label() string {
	if g.Weight == firstWeight {
		return "CRDs and namespaces"
	}
	return "weight " + strconv.Itoa(g.Weight)
}

func Describe(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetName()
}

func objectNamespace(o *unstructured.Unstructured, fallback string) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns
	}
	return fallback
}

type objectIndex struct {
	steps     []*applyStep
	namespace string
	byKey     map[string]*applyStep
}

func newObjectIndex(steps []*applyStep, namespace string) *objectIndex {
	ix := &objectIndex{steps: steps, namespace: namespace, byKey: map[string]*applyStep{}}
	for _, s := range steps {
		ix.byKey[s.obj.GetKind()+"/"+objectNamespace(s.obj, namespace)+"/"+s.obj.GetName()] = s
	}
	return ix
}

func (ix *objectIndex) get(kind, namespace, name string) *applyStep {
	return ix.byKey[kind+"/"+namespace+"/"+name]
}

// match returns the objects a declared dependency selects; a dependency without a namespace
// looks in the dependent's namespace.
func (ix *objectIndex) match(d lifecycle.Dependency, namespace string) []*applyStep {
	if d.Namespace != "" {
		namespace = d.Namespace
	}
	var out []*applyStep
	for _, s := range ix.steps {
		if selects(d, s.obj, namespace, ix.namespace) {
			out = append(out, s)
		}
	}
	return out
}

// selects says whether the dependency names obj: every field set must match; namespace is
// where the dependency looks, releaseNamespace that of objects without one.
func selects(d lifecycle.Dependency, obj *unstructured.Unstructured, namespace, releaseNamespace string) bool {
	gvk := obj.GroupVersionKind()
	switch {
	case d.Kind != "" && !strings.EqualFold(d.Kind, gvk.Kind):
	case d.Name != "" && d.Name != obj.GetName():
	case d.Group != "" && d.Group != gvk.Group:
	case d.Version != "" && d.Version != gvk.Version:
	case obj.GetNamespace() != "" && objectNamespace(obj, releaseNamespace) != namespace:
	default:
		return true
	}
	return false
}

type objectReference struct {
	kind, name string
}

// podTemplateReferences lists the ConfigMaps, Secrets, ServiceAccount and PVCs a workload's
// pods need to start; optional references are left out.
func podTemplateReferences(o *unstructured.Unstructured) []objectReference {
	var specPath []string
	switch o.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		specPath = []string{"spec", "template", "spec"}
	case "CronJob":
		specPath = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case "Pod":
		specPath = []string{"spec"}
	default:
		return nil
	}
	spec, found, err := unstructured.NestedMap(o.Object, specPath...)
	if !found || err != nil {
		return nil
	}
	var refs []objectReference
	add := func(kind string, m map[string]any, nameKey string) {
		if m == nil || m["optional"] == true {
			return
		}
		if name, ok := m[nameKey].(string); ok && name != "" {
			refs = append(refs, objectReference{kind: kind, name: name})
		}
	}
	if sa, ok := spec["serviceAccountName"].(string); ok && sa != "" {
		refs = append(refs, objectReference{kind: "ServiceAccount", name: sa})
	}
	for _, s := range maps(spec["imagePullSecrets"]) {
		add("Secret", s, "name")
	}
	for _, v := range maps(spec["volumes"]) {
		add("ConfigMap", mapOf(v["configMap"]), "name")
		add("Secret", mapOf(v["secret"]), "secretName")
		add("PersistentVolumeClaim", mapOf(v["persistentVolumeClaim"]), "claimName")
		if projected := mapOf(v["projected"]); projected != nil {
			for _, src := range maps(projected["sources"]) {
				add("ConfigMap", mapOf(src["configMap"]), "name")
				add("Secret", mapOf(src["secret"]), "name")
			}
		}
	}
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range maps(spec[key]) {
			for _, e := range maps(c["env"]) {
				if from := mapOf(e["valueFrom"]); from != nil {
					add("ConfigMap", mapOf(from["configMapKeyRef"]), "name")
					add("Secret", mapOf(from["secretKeyRef"]), "name")
				}
			}
			for _, e := range maps(c["envFrom"]) {
				add("ConfigMap", mapOf(e["configMapRef"]), "name")
				add("Secret", mapOf(e["secretRef"]), "name")
			}
		}
	}
	return refs
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func maps(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
