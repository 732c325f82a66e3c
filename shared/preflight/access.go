// Package preflight checks, before anything is applied, that the deployer may do what a
// deploy will do, in as few requests as the API server allows.
package preflight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-converge/converge/shared/event"
	"github.com/kubectl-converge/converge/shared/manifest"
	"github.com/kubectl-converge/converge/shared/redact"
)

// deployVerbs are what a converge does to every kind it deploys: read the live object,
// create or patch it, and list and watch it while tracking.
var deployVerbs = []string{"get", "create", "patch", "list", "watch"}

// accessKey is one resource in one namespace ("" for cluster-scoped resources).
type accessKey struct {
	group, resource, namespace string
}

func (k accessKey) String() string {
	r := k.resource
	if k.group != "" {
		r += "." + k.group
	}
	return r
}

// TrackingReads is what tracking reads beside the deployed objects and can do without (pods,
// ReplicaSets, events, pod logs), with its record of what it may not read (track.Access).
type TrackingReads interface {
	// Optional lists each such resource with the verbs tracking uses on it.
	Optional() map[schema.GroupResource][]string
	// Deny records resource in namespace as out of reach; it returns the line that says what
	// is lost, and whether this is the first time.
	Deny(resource schema.GroupResource, namespace string) (line string, first bool)
}

// CheckAccess asks the API server whether the user may do what the deploy will do to every
// kind of the rendered manifest, before a revision is recorded: a missing permission then
// fails the converge with the verbs, resources and namespaces to grant, instead of halfway
// through the apply. Kinds the cluster does not know, and an API server that cannot answer
// access reviews, are left to the deploy itself. What tracking only reads to explain (pods,
// ReplicaSets, events, pod logs) is optional: each missing one is said once, as a warning,
// and recorded in reads so that tracking does without it.
func CheckAccess(ctx context.Context, kube kubernetes.Interface, mapper meta.RESTMapper, namespace string, rendered []byte, reads TrackingReads, sink event.Sink) error {
	objects, err := manifest.Parse(rendered)
	if err != nil {
		return nil
	}
	keys := map[accessKey]bool{}
	for _, o := range objects {
		if o.Root == nil {
			continue
		}
		apiVersion := ""
		if n := manifest.Lookup(o.Root, "apiVersion"); n != nil {
			apiVersion = n.Value
		}
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			continue
		}
		mapping, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: o.Kind()}, gv.Version)
		if err != nil {
			continue
		}
		ns := ""
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns = namespace
			if md := manifest.Lookup(o.Root, "metadata"); md != nil {
				if n := manifest.Lookup(md, "namespace"); n != nil && n.Value != "" {
					ns = n.Value
				}
			}
		}
		keys[accessKey{group: gv.Group, resource: mapping.Resource.Resource, namespace: ns}] = true
	}
	optional := map[accessKey][]string{}
	for key := range keys {
		if key.namespace == "" {
			continue
		}
		for resource, verbs := range reads.Optional() {
			optional[accessKey{group: resource.Group, resource: resource.Resource, namespace: key.namespace}] = verbs
		}
	}
	required := map[accessKey][]string{}
	for key := range keys {
		required[key] = deployVerbs
	}
	reviewer := newAccessReviewer(kube)
	denied := reviewer.denied(ctx, required)
	for key := range reviewer.denied(ctx, optional) {
		if line, first := reads.Deny(schema.GroupResource{Group: key.group, Resource: key.resource}, key.namespace); first && sink != nil {
			sink(event.Event{Type: event.TypeStage, Time: time.Now(), Stage: "access", Warning: true, Line: "warning: " + line})
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return accessError(denied)
}

// accessReviewer answers "may the user do verb to key?" in as few requests as it can: one
// SelfSubjectRulesReview per namespace lists what RBAC grants there, and only what those
// rules leave ungranted (authorizers that cannot list rules, real denials) is asked with
// SelfSubjectAccessReviews, a few at a time. A rules review is only ever trusted to grant:
// a denial always comes from an access review.
//
// Cluster-scoped resources are granted by ClusterRoleBindings alone. A rules review of a
// namespace lists the rules of the ClusterRoleBindings and of the namespace's RoleBindings;
// of a namespace that does not exist, where no RoleBinding can be, exactly the cluster-wide
// ones: clusterRulesNamespace, a name made up for the run, is asked for those.
type accessReviewer struct {
	kube                  kubernetes.Interface
	clusterRulesNamespace string
	mu                    sync.Mutex
	rules                 map[string][]authorizationv1.ResourceRule
}

func newAccessReviewer(kube kubernetes.Interface) *accessReviewer {
	return &accessReviewer{kube: kube, clusterRulesNamespace: "kubectl-converge-cluster-rules-" + randomSuffix(),
		rules: map[string][]authorizationv1.ResourceRule{}}
}

// rulesNamespace is the namespace whose rules decide key.
func (r *accessReviewer) rulesNamespace(key accessKey) string {
	if key.namespace == "" {
		return r.clusterRulesNamespace
	}
	return key.namespace
}

// learnRules asks for the rules of every namespace of wanted not asked yet, in parallel; a
// namespace whose review fails has no rules, so each of its checks is asked on its own.
func (r *accessReviewer) learnRules(ctx context.Context, wanted map[accessKey][]string) {
	var wg sync.WaitGroup
	for key := range wanted {
		ns := r.rulesNamespace(key)
		r.mu.Lock()
		_, known := r.rules[ns]
		if !known {
			r.rules[ns] = nil
			wg.Add(1)
			redact.Go(func() {
				defer wg.Done()
				review := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
				answer, err := r.kube.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, review, metav1.CreateOptions{})
				if err != nil {
					return
				}
				r.mu.Lock()
				r.rules[ns] = answer.Status.ResourceRules
				r.mu.Unlock()
			})
		}
		r.mu.Unlock()
	}
	wg.Wait()
}

// granted reports whether the namespace's rules allow verb on key, as RBAC matches them.
func (r *accessReviewer) granted(key accessKey, verb string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	resource, subresource, _ := strings.Cut(key.resource, "/")
	for _, rule := range r.rules[r.rulesNamespace(key)] {
		// A rule limited to named objects cannot grant create, list or watch of the kind.
		if len(rule.ResourceNames) > 0 {
			continue
		}
		if matchesAny(rule.Verbs, verb) && matchesAny(rule.APIGroups, key.group) && resourceMatches(rule.Resources, resource, subresource) {
			return true
		}
	}
	return false
}

func matchesAny(values []string, want string) bool {
	for _, v := range values {
		if v == "*" || v == want {
			return true
		}
	}
	return false
}

// resourceMatches follows RBAC's rule: "*", the exact resource (or "resource/subresource"),
// or "*/subresource".
func resourceMatches(rules []string, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined += "/" + subresource
	}
	for _, r := range rules {
		if r == "*" || r == combined || (subresource != "" && r == "*/"+subresource) {
			return true
		}
	}
	return false
}

// denied returns, for each key of wanted, the verbs the user may not use; an API server that
// cannot answer denies nothing.
func (r *accessReviewer) denied(ctx context.Context, wanted map[accessKey][]string) map[accessKey][]string {
	r.learnRules(ctx, wanted)
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		denied  = map[accessKey][]string{}
		limiter = make(chan struct{}, 8)
	)
	for key, verbs := range wanted {
		for _, verb := range verbs {
			if r.granted(key, verb) {
				continue
			}
			wg.Add(1)
			redact.Go(func() {
				defer wg.Done()
				limiter <- struct{}{}
				defer func() { <-limiter }()
				review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: key.namespace, Verb: verb, Group: key.group, Resource: key.resource},
				}}
				if sub, ok := strings.CutPrefix(key.resource, "pods/"); ok {
					review.Spec.ResourceAttributes.Resource, review.Spec.ResourceAttributes.Subresource = "pods", sub
				}
				answer, err := r.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
				if err != nil || answer.Status.Allowed {
					return
				}
				mu.Lock()
				denied[key] = append(denied[key], verb)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return denied
}

func accessError(denied map[accessKey][]string) error {
	var lines, hints []string
	for key, verbs := range denied {
		sort.Slice(verbs, func(i, j int) bool { return verbIndex(verbs[i]) < verbIndex(verbs[j]) })
		where := "cluster-wide"
		hint := fmt.Sprintf("kubectl create clusterrole NAME --verb=%s --resource=%s", strings.Join(verbs, ","), key)
		if key.namespace != "" {
			where = fmt.Sprintf("in namespace %q", key.namespace)
			hint = fmt.Sprintf("kubectl create role NAME -n %s --verb=%s --resource=%s", key.namespace, strings.Join(verbs, ","), key)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s", strings.Join(verbs, ", "), key, where))
		hints = append(hints, hint)
	}
	sort.Strings(lines)
	sort.Strings(hints)
	return fmt.Errorf("forbidden: you may not %s; ask for a role that grants it and a binding to it, e.g. %s", strings.Join(lines, "; "), strings.Join(hints, "; "))
}

func verbIndex(verb string) int {
	for i, v := range deployVerbs {
		if v == verb {
			return i
		}
	}
	return len(deployVerbs)
}

// randomSuffix makes the made-up namespace of the cluster-wide rules review unique to the run.
func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
