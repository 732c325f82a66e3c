package helmsdk

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
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

// leftovers returns the manifests of the objects that revisions since the release's last
// successful one (deployed or superseded) held and its newest revision does not: a failed
// upgrade stops before deleting what left the chart (Helm deletes it after the main stage,
// and so do we), so those objects are still live and the release's, while Helm's uninstall
// reads only the newest revision's manifest. nil when the newest revision succeeded or the
// history cannot be read.
func leftovers(releases *storage.Storage, name string) []string {
	revs, err := releases.History(name)
	if err != nil || len(revs) < 2 {
		return nil
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	newest := revs[len(revs)-1]
	from := -1
	for i := len(revs) - 2; i >= 0; i-- {
		if s := revs[i].Info.Status; s == helmrelease.StatusDeployed || s == helmrelease.StatusSuperseded {
			from = i
			break
		}
	}
	if from < 0 || newest.Info.Status == helmrelease.StatusDeployed {
		return nil
	}
	var out []string
	for _, r := range revs[from : len(revs)-1] {
		out = append(out, r.Manifest)
	}
	return out
}

// deleteHooks deletes the release's hooks that are still there (each object once, as the
// newest revision rendered it), with foreground propagation as the release's own objects,
// and returns the manifest of those it deleted. Hooks kept by a resource policy
// (helm.sh/resource-policy or werf.io/resource-policy: keep), owned by anyone
// (werf.io/ownership) or taken over by another release stay, and are listed in spared.
func (c *deployKubeClient) deleteHooks(hooks []*helmrelease.Hook) (string, error) {
	sources := make([]manifestSource, 0, len(hooks))
	for _, h := range hooks {
		sources = append(sources, manifestSource{manifest: h.Manifest, what: fmt.Sprintf("hook %s %q (%s)", h.Kind, h.Name, h.Path)})
	}
	return c.deleteManifests(sources, nil, true)
}

// deleteLeftovers deletes the objects earlier revisions left (leftovers) that the newest
// revision does not list, by the rules of the release's own objects: only those still
// carrying this release's metadata go, resource policies and ownership anyone are kept.
func (c *deployKubeClient) deleteLeftovers(manifests []string, newest string) (string, error) {
	if len(manifests) == 0 {
		return "", nil
	}
	except := map[string]bool{}
	if infos, err := c.Client.Build(strings.NewReader(newest), false); err == nil {
		for _, info := range infos {
			except[hookKey(info)] = true
		}
	}
	sources := make([]manifestSource, 0, len(manifests))
	for _, m := range manifests {
		for _, doc := range releaseutil.SplitManifests(m) {
			sources = append(sources, manifestSource{manifest: doc, what: "an object of an earlier revision"})
		}
	}
	return c.deleteManifests(sources, except, false)
}

// manifestSource is one manifest to delete the objects of, and what it is, for errors.
type manifestSource struct{ manifest, what string }

// deleteManifests deletes the live objects of sources (each once, as the last source holding
// it says, none of except), with foreground propagation, through the ownership rules
// (hooks: objects without release metadata are the release's), and returns the manifest of
// those it deleted.
func (c *deployKubeClient) deleteManifests(sources []manifestSource, except map[string]bool, hooks bool) (string, error) {
	var order []string
	manifests := map[string]string{}
	objects := map[string]*resource.Info{}
	for _, src := range sources {
		infos, err := c.Client.Build(strings.NewReader(src.manifest), false)
		if meta.IsNoMatchError(err) {
			continue // its kind is no longer served: there is nothing to delete
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", src.what, err)
		}
		for _, info := range infos {
			key := hookKey(info)
			if except[key] {
				continue
			}
			if _, seen := objects[key]; !seen {
				order = append(order, key)
			}
			objects[key], manifests[key] = info, src.manifest
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
	owner.hooks, owner.afterHelm = hooks, true
	saved := c.owner
	c.owner = &owner
	defer func() { c.owner = saved }()
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
