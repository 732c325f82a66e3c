package apply

import (
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// DeleteWaves orders the objects of one deletion by nelm's werf.io/delete-dependency-<id>:
// an object is deleted in a later wave than every object of the deletion its delete
// dependencies select, and only once those are gone (nelm deletes "only after target gone").
// Objects without such dependencies go in the first wave, all at once, as before. A cycle is
// an error naming its objects.
func DeleteWaves(infos []*resource.Info, namespace string) ([][]*resource.Info, error) {
	objs := make([]*unstructured.Unstructured, len(infos))
	deps := make([]map[int]bool, len(infos))
	for i, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			u = &unstructured.Unstructured{}
		}
		objs[i] = u
	}
	for i, u := range objs {
		l, err := lifecycle.Parse(u.GetKind(), u.GetAnnotations())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Describe(u), err)
		}
		deps[i] = map[int]bool{}
		for _, d := range l.DeleteDependencies {
			look := objectNamespace(u, namespace)
			if d.Namespace != "" {
				look = d.Namespace
			}
			for j, other := range objs {
				if j != i && selects(d, other, look, namespace) {
					deps[i][j] = true
				}
			}
		}
	}
	placed := make([]bool, len(infos))
	var waves [][]*resource.Info
	for left := len(infos); left > 0; {
		var wave []int
		for i := range infos {
			if placed[i] {
				continue
			}
			ready := true
			for j := range deps[i] {
				if !placed[j] {
					ready = false
					break
				}
			}
			if ready {
				wave = append(wave, i)
			}
		}
		if len(wave) == 0 {
			var cycle []string
			for i := range infos {
				if !placed[i] {
					cycle = append(cycle, Describe(objs[i]))
				}
			}
			return nil, fmt.Errorf("%s: the delete dependencies of these objects wait for each other: remove one of them", strings.Join(cycle, ", "))
		}
		out := make([]*resource.Info, len(wave))
		for k, i := range wave {
			placed[i] = true
			out[k] = infos[i]
		}
		waves = append(waves, out)
		left -= len(wave)
	}
	return waves, nil
}
