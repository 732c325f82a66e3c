package preflight

import (
	"context"
	"sort"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-converge/converge/shared/event"
)

// reviewCluster answers rules reviews with rules (per namespace) and access reviews with
// allow, and counts both.
type reviewCluster struct {
	rules       map[string][]authorizationv1.ResourceRule
	rulesFail   bool
	allow       func(authorizationv1.ResourceAttributes) bool
	rulesAsked  []string
	accessAsked []string
	clientset   *fake.Clientset
}

func newReviewCluster(rules map[string][]authorizationv1.ResourceRule, allow func(authorizationv1.ResourceAttributes) bool) *reviewCluster {
	c := &reviewCluster{rules: rules, allow: allow, clientset: fake.NewClientset()}
	c.clientset.PrependReactor("create", "selfsubjectrulesreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		review := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectRulesReview)
		ns := review.Spec.Namespace
		if strings.HasPrefix(ns, "kubectl-converge-cluster-rules-") {
			ns = clusterWide
		}
		c.rulesAsked = append(c.rulesAsked, ns)
		if c.rulesFail {
			return true, nil, errForbidden
		}
		review.Status.ResourceRules = c.rules[ns]
		return true, review, nil
	})
	c.clientset.PrependReactor("create", "selfsubjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		review := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attrs := *review.Spec.ResourceAttributes
		c.accessAsked = append(c.accessAsked, attrs.Verb+" "+attrs.Resource+"/"+attrs.Subresource+" "+attrs.Namespace)
		review.Status.Allowed = c.allow(attrs)
		return true, review, nil
	})
	return c
}

var errForbidden = &forbiddenError{}

// clusterWide names, in the tests' rules, what a rules review of a namespace that does not
// exist answers: the ClusterRoleBindings' rules.
const clusterWide = "<cluster>"

type forbiddenError struct{}

func (*forbiddenError) Error() string { return "forbidden" }

func allowAll(authorizationv1.ResourceAttributes) bool { return true }

func TestAccessReviewerAsksRulesOncePerNamespace(t *testing.T) {
	everything := []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	onlyApps := []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "create", "patch", "list", "watch"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/log"}},
		// Named objects grant nothing for create, list and watch.
		{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"one"}},
	}
	deployments := accessKey{group: "apps", resource: "deployments"}
	configmaps := accessKey{resource: "configmaps"}
	logs := accessKey{resource: "pods/log"}
	crds := accessKey{group: "apiextensions.k8s.io", resource: "customresourcedefinitions"}
	in := func(k accessKey, ns string) accessKey { k.namespace = ns; return k }

	tests := []struct {
		name       string
		rules      map[string][]authorizationv1.ResourceRule
		rulesFail  bool
		allow      func(authorizationv1.ResourceAttributes) bool
		wanted     map[accessKey][]string
		wantRules  int
		wantAccess []string
		wantDenied map[accessKey][]string
	}{
		{
			name:  "rules grant everything: no access review",
			rules: map[string][]authorizationv1.ResourceRule{"a": everything, "b": everything},
			allow: allowAll,
			wanted: map[accessKey][]string{
				in(deployments, "a"): deployVerbs, in(configmaps, "a"): deployVerbs, in(logs, "a"): {"get"},
				in(deployments, "b"): deployVerbs,
			},
			wantRules: 2,
		},
		{
			name:      "cluster-scoped kinds granted by no cluster-wide rule are asked",
			rules:     map[string][]authorizationv1.ResourceRule{"a": everything},
			allow:     allowAll,
			wanted:    map[accessKey][]string{in(deployments, "a"): deployVerbs, crds: {"get", "create"}},
			wantRules: 2,
			wantAccess: []string{
				"create customresourcedefinitions/ ", "get customresourcedefinitions/ ",
			},
		},
		{
			name: "cluster-wide rules grant cluster-scoped kinds",
			rules: map[string][]authorizationv1.ResourceRule{clusterWide: {
				{Verbs: []string{"get", "create"}, APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}},
			}},
			allow:     allowAll,
			wanted:    map[accessKey][]string{crds: {"get", "create"}},
			wantRules: 1,
		},
		{
			name:      "what the rules leave out is asked, and the answer decides",
			rules:     map[string][]authorizationv1.ResourceRule{"a": onlyApps},
			allow:     func(a authorizationv1.ResourceAttributes) bool { return a.Verb != "create" },
			wanted:    map[accessKey][]string{in(deployments, "a"): deployVerbs, in(configmaps, "a"): {"get", "create"}, in(logs, "a"): {"get"}},
			wantRules: 1,
			wantAccess: []string{
				"create configmaps/ a", "get configmaps/ a",
			},
			wantDenied: map[accessKey][]string{in(configmaps, "a"): {"create"}},
		},
		{
			name:      "a failing rules review falls back to access reviews",
			rulesFail: true,
			allow:     allowAll,
			wanted:    map[accessKey][]string{in(deployments, "a"): {"get", "list"}},
			wantRules: 1,
			wantAccess: []string{
				"get deployments/ a", "list deployments/ a",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := newReviewCluster(tt.rules, tt.allow)
			cluster.rulesFail = tt.rulesFail
			reviewer := newAccessReviewer(cluster.clientset)
			denied := reviewer.denied(context.Background(), tt.wanted)
			asked := append([]string(nil), cluster.accessAsked...)
			// A second question about the same namespaces asks no new rules review.
			reviewer.denied(context.Background(), tt.wanted)
			if len(cluster.rulesAsked) != tt.wantRules {
				t.Errorf("rules reviews: %v, want %d", cluster.rulesAsked, tt.wantRules)
			}
			sort.Strings(asked)
			if strings.Join(asked, ",") != strings.Join(tt.wantAccess, ",") {
				t.Errorf("access reviews:\n got %q\nwant %q", asked, tt.wantAccess)
			}
			if len(denied) != len(tt.wantDenied) {
				t.Fatalf("denied %v, want %v", denied, tt.wantDenied)
			}
			for k, verbs := range tt.wantDenied {
				if strings.Join(denied[k], ",") != strings.Join(verbs, ",") {
					t.Errorf("denied %v: %v, want %v", k, denied[k], verbs)
				}
			}
		})
	}
}

func TestAccessErrorNamesVerbsResourcesAndNamespaces(t *testing.T) {
	err := accessError(map[accessKey][]string{
		{group: "apps", resource: "deployments", namespace: "shop"}: {"patch", "create"},
		{resource: "namespaces"}:                                    {"create"},
	})
	want := `forbidden: you may not create namespaces cluster-wide; create, patch deployments.apps in namespace "shop"; ` +
		`ask for a role that grants it and a binding to it, e.g. kubectl create clusterrole NAME --verb=create --resource=namespaces; ` +
		`kubectl create role NAME -n shop --verb=create,patch --resource=deployments.apps`
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}

// recordedReads is a TrackingReads that records what CheckAccess denies.
type recordedReads struct{ denied []string }

func (r *recordedReads) Optional() map[schema.GroupResource][]string {
	return map[schema.GroupResource][]string{{Resource: "events"}: {"list", "watch"}, {Resource: "pods"}: {"list", "watch"}}
}

func (r *recordedReads) Deny(resource schema.GroupResource, namespace string) (string, bool) {
	r.denied = append(r.denied, resource.String()+" "+namespace)
	return "no " + resource.String(), true
}

// TestCheckAccess: a missing deploy permission fails the check; a missing optional read is
// recorded for tracking and said once as a warning.
func TestCheckAccess(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	rendered := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
	tests := []struct {
		name       string
		allow      func(authorizationv1.ResourceAttributes) bool
		wantErr    string
		wantDenied []string
	}{
		{name: "everything allowed", allow: allowAll},
		{name: "no events: warned, recorded, not an error",
			allow:      func(a authorizationv1.ResourceAttributes) bool { return a.Resource != "events" },
			wantDenied: []string{"events app"}},
		{name: "no create of deployments fails",
			allow:   func(a authorizationv1.ResourceAttributes) bool { return a.Verb != "create" },
			wantErr: `forbidden: you may not create deployments.apps in namespace "app"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := newReviewCluster(nil, tt.allow)
			reads := &recordedReads{}
			var warnings []string
			err := CheckAccess(context.Background(), cluster.clientset, mapper, "app", rendered, reads, func(e event.Event) {
				if e.Warning {
					warnings = append(warnings, e.Line)
				}
			})
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("CheckAccess: %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(reads.denied, ",") != strings.Join(tt.wantDenied, ",") || len(warnings) != len(tt.wantDenied) {
				t.Fatalf("denied %v with warnings %v, want %v", reads.denied, warnings, tt.wantDenied)
			}
		})
	}
}
