package helmsdk

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// nelm's werf.io/ownership (nelm pkg/common, werf-deploy-features "werf.io/ownership"):
// "release" (the default) objects belong to the release; "anyone" objects are deployed with
// it but carry no release metadata, so nothing checks who owns them before they are applied
// and nothing deletes them: not when they leave the chart, not on uninstall (both only delete
// objects that still carry the release's metadata).
const (
	AnnotationOwnership = "werf.io/ownership"
	OwnershipRelease    = "release"
	OwnershipAnyone     = "anyone"
)

// OwnedByAnyone says whether obj carries werf.io/ownership: anyone.
func OwnedByAnyone(obj *unstructured.Unstructured) bool {
	return obj != nil && obj.GetAnnotations()[AnnotationOwnership] == OwnershipAnyone
}

// checkOwnershipAnnotations reads werf.io/ownership of the rendered objects. When some are
// owned by anyone, Helm's own check that no rendered object belongs to someone else (which
// would refuse them) is turned off with takeOwnership, and done here for the others instead,
// unless adoption is forced.
func (c *Client) checkOwnershipAnnotations(rendered []byte, release string, forceAdoption bool, takeOwnership *bool) error {
	if c.kube == nil || !bytes.Contains(rendered, []byte(AnnotationOwnership)) {
		return nil
	}
	infos, err := c.kube.Client.Build(bytes.NewReader(rendered), false)
	if err != nil {
		return err
	}
	var owned []*resource.Info
	anyone := false
	for _, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		switch value, set := u.GetAnnotations()[AnnotationOwnership]; {
		case value == OwnershipAnyone:
			anyone = true
		case !set || value == OwnershipRelease:
			owned = append(owned, info)
		default:
			return fmt.Errorf("%s %q: annotation %s: invalid value %q: want release or anyone", u.GetKind(), u.GetName(), AnnotationOwnership, value)
		}
	}
	if !anyone {
		return nil
	}
	*takeOwnership = true
	if forceAdoption {
		return nil
	}
	for _, info := range owned {
		live, err := helmOps{}.Get(info)
		if err != nil {
			return fmt.Errorf("could not get information about %s %q: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
		}
		if live != nil && Owner(live.GetAnnotations()) != release+"/"+c.namespace {
			return &AdoptionError{Kind: info.Mapping.GroupVersionKind.Kind, Name: info.Name, Namespace: info.Namespace, Release: release, ReleaseNS: c.namespace}
		}
	}
	return nil
}
