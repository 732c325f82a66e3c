package apply

import (
	"context"
	"errors"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
)

// liveOps is an Ops with one live object; Delete records that it was called and fails, so
// that recreate stops before waiting for the object to go.
type liveOps struct {
	live    *unstructured.Unstructured
	deleted bool
}

var errDeleteCalled = errors.New("delete called")

func (o *liveOps) Apply(previous, target *resource.Info, _ *unstructured.Unstructured) error {
	return nil
}

// Create finds the live object in the way, if any, as the API server would.
func (o *liveOps) Create(target *resource.Info) error {
	if o.live != nil {
		return apierrors.NewAlreadyExists(target.Mapping.Resource.GroupResource(), target.Name)
	}
	return nil
}
func (o *liveOps) Get(*resource.Info) (*unstructured.Unstructured, error) {
	return o.live, nil
}
func (o *liveOps) Delete(*resource.Info, metav1.DeletionPropagation) error {
	o.deleted = true
	return errDeleteCalled
}

// Recreation deletes the live object only when deletion would: another release's object
// is refused, even when the chart's copy is werf.io/ownership: anyone.
func TestRecreateObeysOwnership(t *testing.T) {
	owned := func(release string) map[string]string {
		if release == "" {
			return nil
		}
		return map[string]string{lifecycle.AnnotationReleaseName: release, lifecycle.AnnotationReleaseNamespace: "ns"}
	}
	for _, tc := range []struct {
		name, owner, adoptRun string
		wantErr               string
	}{
		{name: "ours", owner: "a", wantErr: errDeleteCalled.Error()},
		{name: "nobody's", owner: "", wantErr: errDeleteCalled.Error()},
		{name: "another release's", owner: "b", wantErr: `not recreating cm/cm (werf.io/delete-policy: before-creation): it belongs to release b/ns; rename it, or take it over with --force-adoption`},
		{name: "another release's, adoption forced", owner: "b", adoptRun: "run1", wantErr: errDeleteCalled.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := &unstructured.Unstructured{}
			live.SetAPIVersion("v1")
			live.SetKind("ConfigMap")
			live.SetName("cm")
			live.SetNamespace("ns")
			live.SetAnnotations(owned(tc.owner))
			chart := live.DeepCopy()
			chart.SetAnnotations(map[string]string{"werf.io/ownership": "anyone", "werf.io/delete-policy": "before-creation"})
			info := &resource.Info{Name: "cm", Namespace: "ns", Object: chart,
				Mapping: &meta.RESTMapping{GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Scope: meta.RESTScopeNamespace}}
			ops := &liveOps{live: live}
			a := New(context.Background(), Config{Release: "a", Namespace: "ns", AdoptRun: tc.adoptRun})
			l, err := lifecycle.Parse("ConfigMap", chart.GetAnnotations())
			if err != nil {
				t.Fatal(err)
			}
			err = a.applyOne(&applyStep{obj: chart, lifecycle: l}, info, nil, ops)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("recreate: got %v, want %q", err, tc.wantErr)
			}
			if wantDelete := tc.wantErr == errDeleteCalled.Error(); ops.deleted != wantDelete {
				t.Fatalf("deleted = %v, want %v", ops.deleted, wantDelete)
			}
		})
	}
}
