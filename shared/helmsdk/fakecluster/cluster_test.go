package fakecluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// TestPatchTypes: each patch type a client sends changes the stored object as the API server
// would, and is recorded.
func TestPatchTypes(t *testing.T) {
	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		want      string
	}{
		{"strategic merge", types.StrategicMergePatchType, `{"data":{"b":"2"}}`, "map[a:1 b:2]"},
		{"merge", types.MergePatchType, `{"data":{"a":null,"b":"2"}}`, "map[b:2]"},
		{"json", types.JSONPatchType, `[{"op":"replace","path":"/data/a","value":"3"}]`, "map[a:3]"},
		{"server-side apply", types.ApplyPatchType, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"c":"4"}}`, "map[a:1 c:4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(t, "ns")
			ctx := context.Background()
			if _, err := c.Kube().CoreV1().ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			opts := metav1.PatchOptions{}
			if tt.patchType == types.ApplyPatchType {
				opts.FieldManager = "test"
			}
			if _, err := c.Dynamic().Resource(configMaps).Namespace("ns").Patch(ctx, "cm", tt.patchType, []byte(tt.patch), opts); err != nil {
				t.Fatal(err)
			}
			got := c.Get("ConfigMap", "ns", "cm")
			if fmt.Sprint(got.Object["data"]) != tt.want {
				t.Fatalf("data %v, want %s", got.Object["data"], tt.want)
			}
			if got.GetResourceVersion() == "" || got.GetUID() == "" {
				t.Fatalf("stored without resourceVersion or uid: %v", got.Object["metadata"])
			}
			writes := c.Writes()
			if last := writes[len(writes)-1]; last.Verb != "patch" || last.PatchType != string(tt.patchType) || last.Name != "cm" {
				t.Fatalf("last write %+v", last)
			}
		})
	}
}

// TestWatchSeesWrites: a watch gets the objects written after it started; a CRD, once
// stored, serves its kind.
func TestWatchSeesWrites(t *testing.T) {
	c := New(t, "ns")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := c.Dynamic().Resource(configMaps).Namespace("ns").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := c.Add(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "later"}}}); err != nil {
		t.Fatal(err)
	}
	ev := <-w.ResultChan()
	if u, ok := ev.Object.(*unstructured.Unstructured); ev.Type != watch.Added || !ok || u.GetName() != "later" {
		t.Fatalf("event %s %v", ev.Type, ev.Object)
	}
	crd := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{"group": "example.com", "scope": "Namespaced", "names": map[string]any{"kind": "Widget", "plural": "widgets"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true}}}}}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := c.Dynamic().Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	if _, err := c.Dynamic().Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}).Namespace("ns").Create(ctx, widget, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a kind of a stored CRD: %v", err)
	}
	if m, err := c.Mapper().RESTMapping(schema.GroupKind{Group: "example.com", Kind: "Widget"}, "v1"); err != nil || m.Resource.Resource != "widgets" {
		t.Fatalf("discovery of the CRD's kind: %v", err)
	}
}
