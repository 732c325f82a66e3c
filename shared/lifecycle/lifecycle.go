package lifecycle

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DependencyState is what a dependency must reach before the dependent object is applied.
type DependencyState string

const (
	// DependencyStatePresent waits until the dependency exists.
	DependencyStatePresent DependencyState = "present"
	// DependencyStateReady waits until the dependency is ready, as tracking judges it.
	DependencyStateReady DependencyState = "ready"
	// DependencyStateAbsent waits until the dependency is deleted (delete dependencies).
	DependencyStateAbsent DependencyState = "absent"
)

// Dependency selects objects of the same release; every field set must match.
type Dependency struct {
	ID        string
	State     DependencyState
	Group     string
	Version   string
	Kind      string
	Name      string
	Namespace string
	// Inferred marks a dependency found in a pod template rather than declared.
	Inferred bool
}

// ExternalDependency is an object outside the release that must exist and be ready first.
type ExternalDependency struct {
	ID string
	// Resource is kubectl's resource form: "secret/config", "deployments.v1.apps/app".
	Resource string
	// APIVersion, Kind and Name name the object instead of Resource (nelm's short form).
	APIVersion, Kind, Name string
	Namespace              string
}

// Lifecycle is how one object is ordered, created, updated and deleted, from its annotations.
type Lifecycle struct {
	// Weight orders the release's objects: lower weights are applied and ready first.
	Weight       int
	Dependencies []Dependency
	// DeleteDependencies are objects that must be gone before this one is deleted.
	DeleteDependencies []Dependency
	External           []ExternalDependency
	// ReplicasOnCreation is spec.replicas at creation only (so an HPA's scaling is kept); nil:
	// replicas come from the template.
	ReplicasOnCreation *int32
	// RecreateAlways deletes and creates the object on every converge (before-creation).
	RecreateAlways bool
	// RecreateIfImmutable deletes and creates the object when an update hits an immutable
	// field: the default for Jobs.
	RecreateIfImmutable bool
	// DeleteOnSucceeded and DeleteOnFailed delete the object once tracking found it ready,
	// or failed (werf.io/delete-policy: succeeded, failed; nelm deletes such objects after
	// tracking them). The next converge creates it again.
	DeleteOnSucceeded, DeleteOnFailed bool
	// Propagation is how the object's dependents go when it is deleted.
	Propagation metav1.DeletionPropagation
	// Keep leaves the object in the cluster when it leaves the chart or the release goes
	// (helm.sh/resource-policy or werf.io/resource-policy: keep); KeptBy names the annotation.
	Keep   bool
	KeptBy string
	// Ownership is werf.io/ownership: release unless set.
	Ownership Ownership
	// DeployOn are the stages werf.io/deploy-on deploys the object in: DefaultDeployOn unless
	// set.
	DeployOn []Stage
	// Hook is when the object runs as a Helm hook; nil: it is none.
	Hook *Hook
}

// DeletePolicy is one item of werf.io/delete-policy.
type DeletePolicy string

const (
	// DeletePolicyBeforeCreation deletes the object before every apply: it is created anew.
	DeletePolicyBeforeCreation DeletePolicy = "before-creation"
	// DeletePolicyBeforeCreationIfImmutable recreates it when an update hits an immutable
	// field (the default for Jobs).
	DeletePolicyBeforeCreationIfImmutable DeletePolicy = "before-creation-if-immutable"
	// DeletePolicySucceeded deletes it once tracking found it ready.
	DeletePolicySucceeded DeletePolicy = "succeeded"
	// DeletePolicyFailed deletes it once tracking found it failed.
	DeletePolicyFailed DeletePolicy = "failed"
)

// parseDeletePolicy reads werf.io/delete-policy's comma-separated list.
func parseDeletePolicy(value string) ([]DeletePolicy, error) {
	var out []DeletePolicy
	for _, p := range strings.Split(value, ",") {
		switch DeletePolicy(strings.TrimSpace(p)) {
		case DeletePolicyBeforeCreation, DeletePolicyBeforeCreationIfImmutable, DeletePolicySucceeded, DeletePolicyFailed:
			out = append(out, DeletePolicy(strings.TrimSpace(p)))
		default:
			return nil, fmt.Errorf("unknown policy %q", p)
		}
	}
	return out, nil
}

// Parse reads the deploy annotations of an object of kind; an invalid value is an
// error naming the annotation and the accepted values.
func Parse(kind string, annotations map[string]string) (Lifecycle, error) {
	// Foreground by default, as nelm deletes (werf 2): an object is gone when its dependents are.
	l := Lifecycle{Propagation: metav1.DeletePropagationForeground, RecreateIfImmutable: kind == "Job"}
	bad := func(key, want string) error {
		return fmt.Errorf("annotation %s: invalid value %q: want %s", key, annotations[key], want)
	}
	external := map[string]*ExternalDependency{}
	var werfPolicies []DeletePolicy
	werfPolicySet := false
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		value := annotations[key]
		switch {
		case key == AnnotationWeight:
			w, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return l, bad(key, "a whole number such as -10 or 5")
			}
			l.Weight = w
		case strings.HasPrefix(key, AnnotationDeleteDependencyPrefix):
			d, err := parseDependency(strings.TrimPrefix(key, AnnotationDeleteDependencyPrefix), value, DependencyStateAbsent)
			if err != nil {
				return l, fmt.Errorf("annotation %s: invalid value %q: %w", key, value, err)
			}
			l.DeleteDependencies = append(l.DeleteDependencies, d)
		case strings.HasPrefix(key, AnnotationDeployDependencyPrefix):
			d, err := parseDependency(strings.TrimPrefix(key, AnnotationDeployDependencyPrefix), value, DependencyStateReady, DependencyStatePresent)
			if err != nil {
				return l, fmt.Errorf("annotation %s: invalid value %q: %w", key, value, err)
			}
			l.Dependencies = append(l.Dependencies, d)
		case strings.HasSuffix(key, AnnotationExternalDependencyDomain) && !strings.Contains(key, "/"):
			id := strings.TrimSuffix(key, AnnotationExternalDependencyDomain)
			addr, ok := parseObjectAddress(value)
			if id == "" || !ok {
				return l, bad(key, "apiVersion:kind[:namespace]:name, such as v1:Secret:config or apps/v1:Deployment:infra:gateway")
			}
			e := external[id]
			if e == nil {
				e = &ExternalDependency{ID: id}
				external[id] = e
			}
			e.APIVersion, e.Kind, e.Namespace, e.Name = addr.apiVersion, addr.kind, addr.namespace, addr.name
		case strings.HasSuffix(key, AnnotationDependencyDomain) && !strings.Contains(key, "/"):
			// nelm's short form of an internal dependency, state present (nelm
			// pkg/resource/metadata.go: AnnotationKeyPatternDependency).
			id := strings.TrimSuffix(key, AnnotationDependencyDomain)
			addr, ok := parseObjectAddress(value)
			if id == "" || !ok {
				return l, bad(key, "apiVersion:kind[:namespace]:name of an object of the release, such as v1:ConfigMap:settings")
			}
			d := Dependency{ID: id, State: DependencyStatePresent, Kind: addr.kind, Namespace: addr.namespace, Name: addr.name}
			if group, version, ok := strings.Cut(addr.apiVersion, "/"); ok {
				d.Group, d.Version = group, version
			} else {
				d.Version = addr.apiVersion
			}
			l.Dependencies = append(l.Dependencies, d)
		case strings.Contains(key, AnnotationExternalDependencySuffix):
			id, field, _ := strings.Cut(key, AnnotationExternalDependencySuffix)
			if id == "" || (field != "resource" && field != "namespace") {
				return l, fmt.Errorf("annotation %s: unknown external dependency annotation: use <id>.external-dependency.werf.io/resource and <id>.external-dependency.werf.io/namespace", key)
			}
			e := external[id]
			if e == nil {
				e = &ExternalDependency{ID: id}
				external[id] = e
			}
			if field == "namespace" {
				e.Namespace = value
				continue
			}
			kindPart, name, ok := strings.Cut(value, "/")
			if !ok || kindPart == "" || name == "" || strings.Contains(name, "/") {
				return l, bad(key, "KIND/NAME or RESOURCE.VERSION.GROUP/NAME, such as secret/config or deployments.v1.apps/app")
			}
			e.Resource = value
		case key == AnnotationReplicasOnCreation:
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
			if err != nil || n < 0 {
				return l, bad(key, "a whole number of 0 or more")
			}
			replicas := int32(n)
			l.ReplicasOnCreation = &replicas
		case key == AnnotationDeletePolicy:
			policies, err := parseDeletePolicy(value)
			if err != nil {
				return l, bad(key, "a comma-separated list of before-creation, before-creation-if-immutable, succeeded, failed")
			}
			werfPolicies, werfPolicySet = policies, true
			l.RecreateIfImmutable = false
			for _, p := range policies {
				switch p {
				case DeletePolicyBeforeCreation:
					l.RecreateAlways = true
				case DeletePolicyBeforeCreationIfImmutable:
					l.RecreateIfImmutable = true
				case DeletePolicySucceeded:
					l.DeleteOnSucceeded = true
				case DeletePolicyFailed:
					l.DeleteOnFailed = true
				}
			}
		case key == AnnotationDeletePropagation:
			switch metav1.DeletionPropagation(value) {
			case metav1.DeletePropagationForeground, metav1.DeletePropagationBackground, metav1.DeletePropagationOrphan:
				l.Propagation = metav1.DeletionPropagation(value)
			default:
				return l, bad(key, "Foreground, Background or Orphan")
			}
		case key == AnnotationHelmResourcePolicy, key == AnnotationWerfResourcePolicy:
			if value != "keep" {
				return l, bad(key, "keep")
			}
			if !l.Keep {
				l.Keep, l.KeptBy = true, key
			}
		}
	}
	var err error
	if l.Ownership, err = ParseOwnership(annotations); err != nil {
		return l, err
	}
	if l.DeployOn, err = ParseDeployOn(annotations); err != nil {
		return l, err
	}
	l.Hook = parseHook(annotations, werfPolicies, werfPolicySet)
	ids := make([]string, 0, len(external))
	for id := range external {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := external[id]
		if e.Resource == "" && e.Kind == "" {
			return l, fmt.Errorf("annotation %s%snamespace: set %s%sresource too, naming the object to wait for", id, AnnotationExternalDependencySuffix, id, AnnotationExternalDependencySuffix)
		}
		l.External = append(l.External, *e)
	}
	return l, nil
}

// parseDependency reads "state=ready,kind=StatefulSet,name=db"; the first of states is the
// default.
func parseDependency(id, value string, states ...DependencyState) (Dependency, error) {
	d := Dependency{ID: id, State: states[0]}
	if id == "" {
		return d, fmt.Errorf("the annotation needs an id")
	}
	targeted := false
	for _, item := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || v == "" {
			return d, fmt.Errorf("want comma-separated key=value items (state, kind, name, namespace, group, version), got %q", item)
		}
		switch k {
		case "state":
			if !slices.Contains(states, DependencyState(v)) {
				want := make([]string, len(states))
				for i, s := range states {
					want[i] = string(s)
				}
				return d, fmt.Errorf("state %q: want %s", v, strings.Join(want, " or "))
			}
			d.State = DependencyState(v)
			continue
		case "kind":
			d.Kind = v
		case "name":
			d.Name = v
		case "namespace":
			d.Namespace = v
		case "group":
			d.Group = v
		case "version":
			d.Version = v
		default:
			return d, fmt.Errorf("unknown key %q: want state, kind, name, namespace, group or version", k)
		}
		targeted = true
	}
	if !targeted {
		return d, fmt.Errorf("name at least one of kind, name, namespace, group, version of the object to wait for")
	}
	return d, nil
}

// objectAddress is nelm's "apiVersion:kind[:namespace]:name" of its short dependency forms.
type objectAddress struct{ apiVersion, kind, namespace, name string }

func parseObjectAddress(value string) (objectAddress, bool) {
	parts := strings.Split(value, ":")
	if (len(parts) != 3 && len(parts) != 4) || slices.Contains(parts, "") {
		return objectAddress{}, false
	}
	a := objectAddress{apiVersion: parts[0], kind: parts[1], name: parts[len(parts)-1]}
	if len(parts) == 4 {
		a.namespace = parts[2]
	}
	return a, true
}
