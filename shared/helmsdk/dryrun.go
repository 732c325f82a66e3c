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
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/drift"
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
// create, or of the patch the upgrade sends (computed against previous, the object of the
// revision being replaced, or against live when previous is nil). keepManual is
// --no-remove-manual-changes.
func DryRunApply(previous, target *resource.Info, live *unstructured.Unstructured, keepManual bool) (*unstructured.Unstructured, error) {
	helper := resource.NewHelper(target.Client, target.Mapping).DryRun(true)
	var out runtime.Object
	var err error
	if live == nil {
		out, err = helper.Create(target.Namespace, true, target.Object)
	} else {
		var patch []byte
		var pt types.PatchType
		patch, pt, err = helmPatch(previous, target, live, patchOptions{keepManual: keepManual})
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

type patchOptions struct {
	// threeWay is Helm's three-way JSON merge for custom resources (UpdateThreeWayMerge).
	threeWay bool
	// keepManual keeps the fields people set with kubectl (Helm 3's behaviour).
	keepManual bool
}

// helmPatch is the patch Helm 3's upgrade sends for target (kube.Client.Update): a strategic
// three-way merge for built-in kinds, a JSON merge patch from the old manifest for custom
// resources. Unless opts.keepManual, the old manifest has the live object's manual fields
// added, so the patch removes those the new manifest does not have.
func helmPatch(previous, target *resource.Info, live *unstructured.Unstructured, opts patchOptions) ([]byte, types.PatchType, error) {
	old := live.Object
	if previous != nil {
		var err error
		if old, err = runtime.DefaultUnstructuredConverter.ToUnstructured(previous.Object); err != nil {
			return nil, "", err
		}
		if !opts.keepManual {
			if manual := drift.ManualFields(live); manual != nil {
				old = drift.WithManualFields(old, manual)
			}
		}
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
		if opts.threeWay {
			patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(oldData, newData, liveData,
				mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
			return patch, types.MergePatchType, err
		}
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
