package track

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// RefsFromManifest lists the objects of a rendered manifest as tracking targets, with the
// policy of their annotations; namespace fills in objects without one.
func RefsFromManifest(objects []*unstructured.Unstructured, namespace string, namespaced func(schema.GroupVersionKind) bool) ([]Target, error) {
	var out []Target
	for _, u := range objects {
		gvk := u.GroupVersionKind()
		policy, err := readiness.ParsePolicy(u.GetAnnotations())
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", gvk.Kind, u.GetName(), err)
		}
		ns := u.GetNamespace()
		if ns == "" && namespaced(gvk) {
			ns = namespace
		}
		out = append(out, Target{Ref: Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: u.GetName()}, Policy: policy})
	}
	return out, nil
}
