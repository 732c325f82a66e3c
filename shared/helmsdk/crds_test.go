package helmsdk

import (
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		{"our manager through update only", []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(10)}}, false, false},
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

func TestCopyLeavesTheChartAsLoaded(t *testing.T) {
	sub := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "db", Version: "1.0.0"},
		Values:   map[string]any{"exports": map[string]any{"data": map[string]any{"port": 5432}}},
	}
	parent := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0", Dependencies: []*chart.Dependency{
			{Name: "db", Version: "1.0.0", Condition: "db.enabled", ImportValues: []any{"data"}},
		}},
		Values:    map[string]any{"db": map[string]any{"enabled": true}},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("kind: ConfigMap")}},
	}
	parent.AddDependency(sub)
	original := &Chart{chart: parent}

	copied, err := original.Copy()
	if err != nil {
		t.Fatal(err)
	}
	// Rendering with the subchart disabled and its values imported changes the copy only.
	if err := chartutil.ProcessDependenciesWithMerge(copied.chart, map[string]any{"db": map[string]any{"enabled": false}}); err != nil {
		t.Fatal(err)
	}
	copied.chart.Values["db"].(map[string]any)["enabled"] = "changed"
	if len(copied.chart.Dependencies()) != 0 {
		t.Fatalf("the copy kept the disabled subchart")
	}
	if len(parent.Dependencies()) != 1 || parent.Dependencies()[0].Parent() != parent {
		t.Fatalf("the original lost its subchart: %v", parent.Dependencies())
	}
	if parent.Metadata.Dependencies[0].Enabled || len(parent.Metadata.Dependencies[0].ImportValues) != 1 {
		t.Fatalf("the original's dependency metadata changed: %+v", parent.Metadata.Dependencies[0])
	}
	if parent.Values["db"].(map[string]any)["enabled"] != true {
		t.Fatalf("the original's values changed: %v", parent.Values)
	}
	if _, ok := parent.Values["port"]; ok {
		t.Fatalf("import-values of the copy reached the original: %v", parent.Values)
	}
	if len(copied.chart.Templates) != 1 || string(copied.chart.Templates[0].Data) != "kind: ConfigMap" {
		t.Fatalf("the copy's templates: %v", copied.chart.Templates)
	}
}
