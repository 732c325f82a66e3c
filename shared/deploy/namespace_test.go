package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-converge/converge/shared/lifecycle"
	"github.com/kubectl-converge/converge/shared/releaselock"
	"github.com/kubectl-converge/converge/shared/track"
)

// TestNamespaceIsDeletedOnlyWhenAlone: dismiss --with-namespace deletes the namespace it
// created for the release only when nothing of anyone else lives there: another release's
// records, or any object the release does not own (one made with kubectl), keep it with one
// line saying why, unless forced; what every namespace has and the release's own lock do not.
func TestNamespaceIsDeletedOnlyWhenAlone(t *testing.T) {
	object := func(kind, name string, annotations, labels map[string]string, owned bool) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		if kind == "Lease" {
			u.SetAPIVersion("coordination.k8s.io/v1")
		}
		u.SetNamespace("team")
		u.SetName(name)
		u.SetAnnotations(annotations)
		u.SetLabels(labels)
		if owned {
			u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "1"}})
		}
		return u
	}
	defaults := []*unstructured.Unstructured{
		object("ServiceAccount", "default", nil, nil, false),
		object("ConfigMap", "kube-root-ca.crt", nil, nil, false),
		object("Lease", releaselock.LeaseName("a"), nil, nil, false),
		object("ConfigMap", releaselock.WerfConfigMap, nil, nil, false),
		object("ConfigMap", "kept", map[string]string{lifecycle.AnnotationReleaseName: "a", lifecycle.AnnotationReleaseNamespace: "team"}, nil, false),
		object("Pod", "web-1-abc", nil, nil, true),
	}
	tests := []struct {
		name      string
		createdBy string
		extra     []*unstructured.Unstructured
		force     bool
		wantLine  string
	}{
		{name: "nothing but the release's", createdBy: "a", wantLine: `deleting namespace "team"`},
		{name: "another release's records", createdBy: "a", extra: []*unstructured.Unstructured{object("Secret", "sh.helm.release.v1.b.v1", nil, map[string]string{"owner": "helm", "name": "b"}, false)},
			wantLine: `namespace "team" holds release "b" too: left in place (--force-namespace deletes it anyway)`},
		{name: "an object made with kubectl", createdBy: "a", extra: []*unstructured.Unstructured{object("ConfigMap", "theirs", nil, nil, false)},
			wantLine: `namespace "team" holds configmap "theirs", which release "a" does not own: left in place (--force-namespace deletes it anyway)`},
		{name: "another release's lock", createdBy: "a", extra: []*unstructured.Unstructured{object("Lease", releaselock.LeaseName("b"), nil, nil, false)},
			wantLine: `namespace "team" holds lease "converge-lock-b", which release "a" does not own: left in place (--force-namespace deletes it anyway)`},
		{name: "created for another release", createdBy: "b",
			wantLine: `namespace "team" was not created by converge for release "a": left in place (--force-namespace deletes it anyway)`},
		{name: "forced", createdBy: "b", extra: []*unstructured.Unstructured{object("ConfigMap", "theirs", nil, nil, false)}, force: true, wantLine: `deleting namespace "team"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Annotations: map[string]string{AnnotationCreatedForRelease: tt.createdBy}}})
			kube.Resources = []*metav1.APIResourceList{
				{GroupVersion: "v1", APIResources: []metav1.APIResource{
					{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: metav1.Verbs{"list", "delete"}},
					{Name: "secrets", Namespaced: true, Kind: "Secret", Verbs: metav1.Verbs{"list", "delete"}},
					{Name: "serviceaccounts", Namespaced: true, Kind: "ServiceAccount", Verbs: metav1.Verbs{"list", "delete"}},
					{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"list", "delete"}},
					{Name: "events", Namespaced: true, Kind: "Event", Verbs: metav1.Verbs{"list", "delete"}},
				}},
				{GroupVersion: "coordination.k8s.io/v1", APIResources: []metav1.APIResource{
					{Name: "leases", Namespaced: true, Kind: "Lease", Verbs: metav1.Verbs{"list", "delete"}},
				}},
			}
			var objects []runtime.Object
			for _, u := range append(append([]*unstructured.Unstructured{}, defaults...), tt.extra...) {
				objects = append(objects, u)
				if u.GetKind() == "Secret" {
					// The typed client reads release records.
					if err := kube.Tracker().Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: u.GetName(), Namespace: "team", Labels: u.GetLabels()}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			listKinds := map[schema.GroupVersionResource]string{}
			for _, l := range kube.Resources {
				gv, _ := schema.ParseGroupVersion(l.GroupVersion)
				for _, r := range l.APIResources {
					listKinds[gv.WithResource(r.Name)] = r.Kind + "List"
				}
			}
			clients := track.Clients{Kube: kube, Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objects...)}
			var lines []string
			sink := func(e track.Event) { lines = append(lines, e.Line) }
			deletion, err := deleteNamespaceIfAlone(context.Background(), clients, "team", "a", tt.force, sink)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(lines, "\n") != tt.wantLine {
				t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), tt.wantLine)
			}
			_, getErr := kube.CoreV1().Namespaces().Get(context.Background(), "team", metav1.GetOptions{})
			if deleted := getErr != nil; deleted != (deletion != nil) || deleted != strings.HasPrefix(tt.wantLine, "deleting") {
				t.Fatalf("namespace deleted %v (deletion %v), want deleted: %v", deleted, deletion, strings.HasPrefix(tt.wantLine, "deleting"))
			}
		})
	}
}

// TestDismissDeletesTheNamespaceUnderTheLock: dismiss --with-namespace on the engine judges
// and deletes the namespace while the release lock is held (the namespace's delete reaches the
// API server before the lock's Lease is given up), and keeps it when someone else's object
// is there.
func TestDismissDeletesTheNamespaceUnderTheLock(t *testing.T) {
	for _, tc := range []struct {
		name        string
		theirs      bool
		wantDeleted bool
	}{{name: "alone", wantDeleted: true}, {name: "with someone else's ConfigMap", theirs: true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t)
			ctx := context.Background()
			ns, err := e.clients.Kube.CoreV1().Namespaces().Get(ctx, testNamespace, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ns.Annotations = map[string]string{AnnotationCreatedForRelease: "app"}
			if _, err := e.clients.Kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.converge(map[string]string{"templates/cm.yaml": configMap}, e.options()); err != nil {
				t.Fatal(err)
			}
			if tc.theirs {
				if _, err := e.clients.Kube.CoreV1().ConfigMaps(testNamespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var lines []string
			sink := func(ev track.Event) {
				if ev.Stage == "namespace" {
					lines = append(lines, ev.Line)
				}
			}
			before := len(e.cluster.Writes())
			if _, err := Dismiss(ctx, e.client, e.clients, DismissRequest{ReleaseName: "app", Namespace: testNamespace, Timeout: time.Minute, WithNamespace: true}, sink); err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, w := range e.cluster.Writes()[before:] {
				if w.Verb == "delete" && (w.Kind == "Namespace" || w.Kind == "Lease") {
					order = append(order, w.Kind)
				}
			}
			want, wantLines := "Lease", `namespace "app-ns" holds configmap "theirs", which release "app" does not own: left in place (--force-namespace deletes it anyway)`
			if tc.wantDeleted {
				want, wantLines = "Namespace Lease", `deleting namespace "app-ns"`+"\n"+`namespace "app-ns" deleted`
			}
			if got := strings.Join(order, " "); got != want {
				t.Fatalf("deletes %q, want %q (the namespace's before the lock's)", got, want)
			}
			if got := strings.Join(lines, "\n"); got != wantLines {
				t.Fatalf("lines:\n%s\nwant:\n%s", got, wantLines)
			}
		})
	}
}
