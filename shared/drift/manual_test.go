package drift

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func liveWith(data map[string]any, entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings"}, "data": data}}
	u.SetManagedFields(entries)
	return u
}

func entry(manager, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: subresource, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func TestManualFields(t *testing.T) {
	data := map[string]any{"a": "b", "extra": "by-hand"}
	tests := []struct {
		name string
		live *unstructured.Unstructured
		want string
	}{
		{"a key added with kubectl patch", liveWith(data, entry("kubectl-converge", "", `{"f:data":{"f:a":{}}}`), entry("kubectl-patch", "", `{"f:data":{"f:extra":{}}}`)), `{"data":{"extra":"by-hand"}}`},
		{"a key another manager owns as well", liveWith(data, entry("kubectl-edit", "", `{"f:data":{"f:extra":{}}}`), entry("operator", "", `{"f:data":{"f:extra":{}}}`)), `null`},
		{"a controller's field", liveWith(data, entry("kube-controller-manager", "", `{"f:data":{"f:extra":{}}}`)), `null`},
		{"only the map's existence", liveWith(data, entry("kubectl-edit", "", `{"f:data":{".":{}}}`)), `null`},
		{"the scale subresource", liveWith(data, entry("kubectl", "scale", `{"f:data":{"f:extra":{}}}`)), `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := json.Marshal(ManualFields(tt.live))
			if string(got) != tt.want {
				t.Fatalf("manual fields %s, want %s", got, tt.want)
			}
		})
	}
}
