package helmsdk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/resource"
)

// releaseHooks returns the hooks of every stored revision of the release: werf's dismiss
// deletes the hooks "getting from existing revisions" (werf 1.2 cmd/werf/dismiss/dismiss.go,
// --with-hooks; its Helm fork's Uninstall.DeleteHooks). Oldest revision first; nil when
// the history cannot be read (the uninstall then says why).
func releaseHooks(releases *storage.Storage, name string) []*helmrelease.Hook {
	revs, err := releases.History(name)
	if err != nil {
		return nil
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	var hooks []*helmrelease.Hook
	for _, r := range revs {
		hooks = append(hooks, r.Hooks...)
	}
	return hooks
}

// deleteHooks deletes the release's hooks that are still there (each object once, as the
// newest revision rendered it), with foreground propagation as the release's own objects,
// and returns the manifest of those it deleted. Hooks kept by a resource policy
// (helm.sh/resource-policy or werf.io/resource-policy: keep), owned by anyone
// (werf.io/ownership) or taken over by another release stay, and are listed in spared.
func (c *deployKubeClient) deleteHooks(hooks []*helmrelease.Hook) (string, error) {
	var order []string
	manifests := map[string]string{}
	objects := map[string]*resource.Info{}
	for _, h := range hooks {
		infos, err := c.Client.Build(strings.NewReader(h.Manifest), false)
		if meta.IsNoMatchError(err) {
			continue // its kind is no longer served: there is nothing to delete
		}
		if err != nil {
			return "", fmt.Errorf("hook %s %q (%s): %w", h.Kind, h.Name, h.Path, err)
		}
		for _, info := range infos {
			key := hookKey(info)
			if _, seen := objects[key]; !seen {
				order = append(order, key)
			}
			objects[key], manifests[key] = info, h.Manifest
		}
	}
	if len(order) == 0 {
		return "", nil
	}
	list := make(kube.ResourceList, 0, len(order))
	for _, key := range order {
		list = append(list, objects[key])
	}
	owner := ownership{}
	if c.owner != nil {
		owner = *c.owner
	}
	owner.hooks = true
	c.owner = &owner
	res, errs := c.DeleteWithPropagationPolicy(list, metav1.DeletePropagationForeground)
	var deleted []string
	if res != nil {
		for _, info := range res.Deleted {
			deleted = append(deleted, manifests[hookKey(info)])
		}
	}
	return strings.Join(deleted, "\n---\n"), errors.Join(errs...)
}

func hookKey(info *resource.Info) string {
	gk := info.Mapping.GroupVersionKind.GroupKind()
	return gk.String() + "/" + info.Namespace + "/" + info.Name
}

// droppedManifest is the manifest of the newest revision that was deployed (deployed or
// superseded) when a later revision, which failed, is the newest: the objects that failed
// revision dropped from the chart stay live after it (a failed upgrade deletes nothing), and
// Helm's uninstall deletes only the newest revision's objects. "" when the newest revision
// is deployed (an upgrade that succeeded deleted what it dropped) or none ever deployed.
func droppedManifest(releases *storage.Storage, name string) string {
	revs, err := releases.History(name)
	if err != nil || len(revs) < 2 {
		return ""
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	if revs[len(revs)-1].Info.Status == helmrelease.StatusDeployed {
		return ""
	}
	for i := len(revs) - 2; i >= 0; i-- {
		if s := revs[i].Info.Status; s == helmrelease.StatusDeployed || s == helmrelease.StatusSuperseded {
			return revs[i].Manifest
		}
	}
	return ""
}

// deleteDropped deletes the objects of dropped that the uninstalled revision's manifest
// (uninstalled) does not hold, with the uninstall's ownership rules (only while they carry
// the release's metadata; kept and owned-by-anyone objects stay), and waits until they are
// gone when the uninstall waits for its objects.
func (c *deployKubeClient) deleteDropped(dropped, uninstalled string) error {
	if dropped == "" {
		return nil
	}
	infos, err := c.Client.Build(strings.NewReader(dropped), false)
	if err != nil && !meta.IsNoMatchError(err) {
		return err
	}
	done, _ := c.Client.Build(strings.NewReader(uninstalled), false)
	skip := map[string]bool{}
	for _, info := range done {
		skip[hookKey(info)] = true
	}
	var list kube.ResourceList
	for _, info := range infos {
		if !skip[hookKey(info)] {
			list = append(list, info)
		}
	}
	if len(list) == 0 {
		return nil
	}
	res, errs := c.DeleteWithPropagationPolicy(list, metav1.DeletePropagationForeground)
	if len(errs) > 0 || res == nil || len(res.Deleted) == 0 || c.awaitGone == nil {
		return errors.Join(errs...)
	}
	ctx, cancel := c.context, context.CancelFunc(func() {})
	if c.deleteTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.deleteTimeout)
	}
	defer cancel()
	return c.awaitGone(ctx, res.Deleted)
}
