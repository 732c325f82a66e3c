package helmsdk

import (
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "github.com/evanphx/json-patch"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
)

// Objects builds the API objects of a rendered manifest, each with its client, the
// transform applied.
func (c *Client) Objects(manifest string) ([]*resource.Info, error) {
	if strings.TrimSpace(manifest) == "" {
		return nil, nil
	}
	return c.cfg.KubeClient.Build(strings.NewReader(manifest), false)
}

// Live returns the live object of info, nil when there is none.
func Live(info *resource.Info) (*unstructured.Unstructured, error) {
	return helmOps{}.Get(info)
}

// DryRunApply returns target as the API server would store it if a converge applied it,
// defaults and admission included, without storing anything: a server-side dry-run of the
// create, or of the patch Helm's upgrade sends (computed against previous, the object of the
// revision being replaced, or against live when previous is nil).
func DryRunApply(previous, target *resource.Info, live *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	helper := resource.NewHelper(target.Client, target.Mapping).DryRun(true)
	var out runtime.Object
	var err error
	if live == nil {
		out, err = helper.Create(target.Namespace, true, target.Object)
	} else {
		var patch []byte
		var pt types.PatchType
		patch, pt, err = helmPatch(previous, target, live)
		if err != nil {
			return nil, err
		}
		if string(patch) == "{}" {
			return live, nil
		}
		out, err = helper.Patch(target.Namespace, target.Name, pt, patch, nil)
	}
	if err != nil {
		return nil, err
	}
	u, ok := out.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("%s %q: unexpected object type %T", target.Mapping.GroupVersionKind.Kind, target.Name, out)
	}
	return u, nil
}

// helmPatch is the patch Helm 3's upgrade sends for target (kube.Client.Update without
// three-way merge for unstructured kinds): a strategic three-way merge for built-in kinds, a
// JSON merge patch from the old manifest for custom resources.
func helmPatch(previous, target *resource.Info, live *unstructured.Unstructured) ([]byte, types.PatchType, error) {
	var old runtime.Object = live
	if previous != nil {
		old = previous.Object
	}
	oldData, err := json.Marshal(old)
	if err != nil {
		return nil, "", err
	}
	newData, err := json.Marshal(target.Object)
	if err != nil {
		return nil, "", err
	}
	liveData, err := json.Marshal(live)
	if err != nil {
		return nil, "", err
	}
	versioned := kube.AsVersioned(target)
	if _, unstructuredKind := versioned.(runtime.Unstructured); unstructuredKind {
		patch, err := jsonpatch.CreateMergePatch(oldData, newData)
		return patch, types.MergePatchType, err
	}
	meta, err := strategicpatch.NewPatchMetaFromStruct(versioned)
	if err != nil {
		return nil, "", err
	}
	patch, err := strategicpatch.CreateThreeWayMergePatch(oldData, newData, liveData, meta, true)
	return patch, types.StrategicMergePatchType, err
}
