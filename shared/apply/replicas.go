package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/lifecycle"
)

// PrepareForApply adjusts obj and the previous revision's object for the lifecycle
// annotations, as the applier does before sending obj: replicas only on creation.
func PrepareForApply(obj *unstructured.Unstructured, previous *resource.Info, l lifecycle.Lifecycle, exists bool) (*resource.Info, error) {
	if l.ReplicasOnCreation == nil {
		return previous, nil
	}
	if !exists {
		if err := unstructured.SetNestedField(obj.Object, int64(*l.ReplicasOnCreation), "spec", "replicas"); err != nil {
			return previous, fmt.Errorf("%s: %w", Describe(obj), err)
		}
	}
	if previous == nil {
		return nil, nil
	}
	// An older revision may still carry spec.replicas; the three-way merge would then remove
	// it and reset the scale.
	u, ok := previous.Object.(*unstructured.Unstructured)
	if !ok {
		return previous, nil
	}
	u = u.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "spec", "replicas")
	copied := *previous
	copied.Object = u
	return &copied, nil
}
