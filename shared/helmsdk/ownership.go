package helmsdk

import (
	"bytes"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// checkOwnershipAnnotations reads werf.io/ownership of the rendered objects. When some are
// owned by anyone, Helm's own check that no rendered object belongs to someone else (which
// would refuse them) is turned off with takeOwnership, and done here for the others instead,
// unless adoption is forced.
func (c *Client) checkOwnershipAnnotations(rendered []byte, release string, forceAdoption bool, takeOwnership *bool) error {
	if c.kube == nil || !bytes.Contains(rendered, []byte(lifecycle.AnnotationOwnership)) {
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
		ownership, err := lifecycle.ParseOwnership(u.GetAnnotations())
		if err != nil {
			return fmt.Errorf("%s %q: %w", u.GetKind(), u.GetName(), err)
		}
		if ownership == lifecycle.OwnershipAnyone {
			anyone = true
		} else {
			owned = append(owned, info)
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
		if live != nil && lifecycle.Owner(live.GetAnnotations()) != release+"/"+c.namespace {
			return &AdoptionError{Kind: info.Mapping.GroupVersionKind.Kind, Name: info.Name, Namespace: info.Namespace, Release: release, ReleaseNS: c.namespace}
		}
	}
	return nil
}
