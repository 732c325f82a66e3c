package helmsdk

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

func TestUnchangedSinceApplied(t *testing.T) {
	at := func(seconds int) *metav1.Time {
		v := metav1.NewTime(time.Date(2026, 12, 2, 12, 0, seconds, 0, time.UTC))
		return &v
	}
	ours := func(seconds int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationApply, Time: at(seconds)}
	}
	other := func(manager string, op metav1.ManagedFieldsOperationType, seconds int, subresource string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: at(seconds), Subresource: subresource}
	}
	tests := []struct {
		name     string
		fields   []metav1.ManagedFieldsEntry
		deleting bool
		want     bool
	}{
		{"only our apply", []metav1.ManagedFieldsEntry{ours(10)}, false, true},
		{"status written after our apply", []metav1.ManagedFieldsEntry{ours(10), other("kube-apiserver", metav1.ManagedFieldsOperationUpdate, 20, "status")}, false, true},
		{"created by helm before our apply", []metav1.ManagedFieldsEntry{other("helm", metav1.ManagedFieldsOperationUpdate, 5, ""), ours(10)}, false, true},
		{"kubectl edit after our apply", []metav1.ManagedFieldsEntry{ours(10), other("kubectl-edit", metav1.ManagedFieldsOperationUpdate, 20, "")}, false, false},
		{"another applier in the same second", []metav1.ManagedFieldsEntry{ours(10), other("cainjector", metav1.ManagedFieldsOperationApply, 10, "")}, false, false},
		{"never applied by us", []metav1.ManagedFieldsEntry{other("helm", metav1.ManagedFieldsOperationUpdate, 5, "")}, false, false},
		{"created by us", []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(10)}}, false, true},
		{"created by us, edited after", []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(10)}, other("kubectl-edit", metav1.ManagedFieldsOperationUpdate, 20, "")}, false, false},
		{"being deleted", []metav1.ManagedFieldsEntry{ours(10)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "crontabs.example.com", ManagedFields: tt.fields}}
			if tt.deleting {
				m.DeletionTimestamp = at(30)
			}
			if got := unchangedSinceApplied(m); got != tt.want {
				t.Errorf("unchangedSinceApplied = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDiscoveryServes: a CRD counts as served only once discovery lists its kind in every
// version it serves (Established comes a moment before).
func TestDiscoveryServes(t *testing.T) {
	crd := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"group": "corpus.converge.test",
			"names": map[string]any{"kind": "ScrapeTarget"},
			"versions": []any{
				map[string]any{"name": "v1", "served": true},
				map[string]any{"name": "v1alpha1", "served": false},
			},
		},
	}}
	dc := fake.NewClientset().Discovery().(*fakediscovery.FakeDiscovery)
	if discoveryServes(dc, crd) {
		t.Fatal("served before discovery lists the group")
	}
	dc.Resources = []*metav1.APIResourceList{{GroupVersion: "corpus.converge.test/v1", APIResources: []metav1.APIResource{{Name: "alertrules", Kind: "AlertRule"}}}}
	if discoveryServes(dc, crd) {
		t.Fatal("served while discovery lists another kind of the group only")
	}
	dc.Resources[0].APIResources = append(dc.Resources[0].APIResources, metav1.APIResource{Name: "scrapetargets", Kind: "ScrapeTarget"})
	if !discoveryServes(dc, crd) {
		t.Fatal("not served once discovery lists the kind in its one served version")
	}
}
