package helmsdk

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"io"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/helmsdk/drivers"
)

// deployKubeClient is the seam between Helm 3's actions and ours, and the one file that
// depends on how Helm 3 calls its kube client (helm.sh/helm/v3/pkg/kube.Interface): Build for
// every manifest it turns into objects (our Transform goes in there), Create for a first
// install's objects and for hooks, Update (or UpdateThreeWayMerge) with the old and new
// revision's objects for an upgrade or rollback, WatchUntilReady for hooks, Delete and
// WaitForDelete for hooks by their delete policy, and DeleteWithPropagationPolicy for an
// uninstall. The release's objects are handed to the
// Applier from here, so Helm stores the release and runs the hooks while we order, apply,
// track and delete.
//
// Moving to the Helm 4 SDK (helm.sh/helm/v4/pkg/kube): Update gains an options argument
// (server-side apply, force conflicts, three-way merge become options of one call instead of
// two methods), waiting moves to a Waiter returned by GetWaiter (WatchUntilReady goes), and
// deletion takes its propagation policy through Delete's options. The Applier interface and
// everything outside this package stay as they are; this adapter is rewritten against
// Helm 4's Interface, the hook detection and ownership filtering here carry over unchanged,
// and helmOps (apply.go) swaps its Helm 3 patch for Helm 4's server-side apply or keeps the
// three-way patch as now.

// deployKubeClient is Helm's kube client with our transform applied to everything Helm
// builds (hooks, CRDs and the release's manifests all go through Build), and with the
// release's objects applied and hooks awaited by an Applier when one is set. The Client keeps
// one without an applier; every action that deploys or deletes gets one of its own
// (actionConfig), so what one action set never reaches the next.
type deployKubeClient struct {
	*kube.Client
	transform Transform
	applier   Applier
	// keepManual is the applier's request to keep manual changes (helmOps.keepManual).
	keepManual bool
	// owner, when set, limits Helm's deletions to objects that still carry this release's
	// ownership annotations; the others are kept and listed in spared.
	owner  *ownership
	spared []SparedObject
	// deleteOrder, when set, deletes the uninstall's objects in waves (UninstallRequest),
	// each awaited with awaitGone.
	deleteOrder   func([]*resource.Info) ([][]*resource.Info, error)
	awaitGone     func(context.Context, []*resource.Info) error
	deleteTimeout time.Duration
	// context ends the waits of the action (Helm 3's uninstall takes none).
	context context.Context
	// deleteErrs are why the uninstall's deletion stopped: Helm only logs them.
	deleteErrs []error
	// retried are the objects of the failed revision an install retries (deployMode): the
	// Applier gets them as the previous objects, where Helm's install has none (Create) or
	// only the live ones it adopts (Update).
	retried kube.ResourceList
	// hooks, when set, creates the inert hooks of a turn together (hookBatch); it learns the
	// hooks from the revisions the action's storage records.
	hooks *hookBatch
	// goneAtDelete are the hook objects the last Delete of each found missing, by hookKey:
	// WaitForDelete has nothing to read for them (Helm reads each hook it deleted, most of
	// which never existed).
	goneMu       sync.Mutex
	goneAtDelete map[string]bool
}

// SparedObject is an object of a release an uninstall did not delete: another release owns
// it now.
type SparedObject struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
	// HandedBack says it was adopted by the failed run and returned to Owner.
	HandedBack bool `json:"handedBack,omitempty"`
	// Hook says it is one of the release's hooks.
	Hook bool `json:"hook,omitempty"`
	// Reason is why it stays when no other release owns it: SparedKept, SparedOwnedByAnyone.
	Reason string `json:"reason,omitempty"`
}

// Reasons an uninstall leaves an object of the release in place.
const (
	// SparedKept is werf.io/resource-policy: keep on the live object.
	SparedKept = "keep"
	// SparedHelmKept is helm.sh/resource-policy: keep on the live object, or on a hook or an
	// earlier revision's object (Helm leaves the newest revision's objects with it out before
	// they reach the deletion).
	SparedHelmKept = "helm-keep"
	// SparedOwnedByAnyone is werf.io/ownership: anyone.
	SparedOwnedByAnyone = "ownership-anyone"
)

// ownership is the release a deletion may touch objects of, decided per object by
// lifecycle.Decide (ModeUninstall): objects adopted in the run handBackRun are handed back to
// their previous owner instead of deleted; resource policies (live or in the revision) and
// werf.io/ownership: anyone keep objects. hooks says the objects are the release's hooks,
// which carry no release metadata: those without any are the release's. afterHelm says the
// objects are deleted after Helm's uninstall (hooks, objects earlier revisions left): those
// that are gone are left out.
type ownership struct {
	release, namespace, handBackRun string
	hooks, afterHelm                bool
}

// DeleteWithPropagationPolicy is how Helm's uninstall deletes the release's objects: only
// those the release still owns go. Hooks (deleted through Delete by their delete policy)
// carry no ownership annotations and are the release's by definition.
func (c *deployKubeClient) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	owned := c.owned(resources)
	if len(owned) == 0 {
		// Helm's client calls an empty list an error ("no objects visited").
		return &kube.Result{}, nil
	}
	if c.deleteOrder == nil {
		return c.Client.DeleteWithPropagationPolicy(owned, policy)
	}
	result, errs := c.deleteInWaves(owned, policy)
	// Helm's uninstall only logs these and says "failed to delete release".
	c.deleteErrs = errs
	return result, errs
}

// deleteInWaves deletes the objects wave by wave (deleteOrder), each once the previous
// wave is gone; the waits end with the action's context or after deleteTimeout.
func (c *deployKubeClient) deleteInWaves(owned kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	waves, err := c.deleteOrder(owned)
	if err == nil && c.awaitGone == nil && len(waves) > 1 {
		err = fmt.Errorf("uninstall in waves: UninstallRequest.AwaitGone is not set")
	}
	if err != nil {
		return &kube.Result{}, []error{err}
	}
	result := &kube.Result{}
	timeout := c.deleteTimeout
	if timeout <= 0 {
		timeout = 24 * time.Hour // Helm's zero: no limit
	}
	waitCtx, cancel := context.WithTimeout(c.context, timeout)
	defer cancel()
	for w, wave := range waves {
		res, errs := c.Client.DeleteWithPropagationPolicy(wave, policy)
		if res != nil {
			result.Deleted = append(result.Deleted, res.Deleted...)
		}
		if len(errs) > 0 || w == len(waves)-1 {
			return result, errs
		}
		if err := c.awaitGone(waitCtx, wave); err != nil {
			return result, []error{fmt.Errorf("%w; what depends on their deletion (werf.io/delete-dependency) was not deleted", err)}
		}
	}
	return result, nil
}

// owned drops the objects another release (or nobody) owns now: an object taken over with
// --force-adoption by another release, or adopted from outside, is not this release's to delete.
func (c *deployKubeClient) owned(resources kube.ResourceList) kube.ResourceList {
	if c.owner == nil {
		return resources
	}
	var out kube.ResourceList
	for _, info := range resources {
		live, err := resource.NewHelper(info.Client, info.Mapping).Get(info.Namespace, info.Name)
		if err != nil {
			if !c.owner.afterHelm || !apierrors.IsNotFound(err) {
				out = append(out, info) // gone, or unreadable: Helm reports it
			}
			continue
		}
		ann := map[string]string{}
		if m, err := meta.Accessor(live); err == nil {
			ann = m.GetAnnotations()
		}
		kind := info.Mapping.GroupVersionKind.Kind
		switch d := c.owner.decide(info, ann); d.Action {
		case lifecycle.ActionHandBack:
			if err := HandBack(info, ann); err != nil {
				out = append(out, info)
				continue
			}
			previous, _, _ := strings.Cut(d.Owner, "/")
			c.spared = append(c.spared, SparedObject{Kind: kind, Name: info.Name, Owner: previous, HandedBack: true, Hook: c.owner.hooks})
		case lifecycle.ActionDelete:
			out = append(out, info)
		default:
			c.spared = append(c.spared, spared(kind, info.Name, c.owner.hooks, d))
		}
	}
	return out
}

// decide is lifecycle.Decide for an object the uninstall removes: info as the revision
// has it, ann the live object's annotations.
func (o *ownership) decide(info *resource.Info, ann map[string]string) lifecycle.Decision {
	in := lifecycle.Input{Mode: lifecycle.ModeUninstall, Release: o.release, Namespace: o.namespace, Hook: o.hooks, HandBackRun: o.handBackRun,
		Live: &lifecycle.Live{Annotations: ann}}
	if u, ok := info.Object.(*unstructured.Unstructured); ok {
		if l, err := lifecycle.Parse(u.GetKind(), u.GetAnnotations()); err == nil {
			in.Previous = &l
		}
	}
	return lifecycle.Decide(in)
}

// spared is the SparedObject of a decision to leave an object in place.
func spared(kind, name string, hook bool, d lifecycle.Decision) SparedObject {
	s := SparedObject{Kind: kind, Name: name, Hook: hook}
	switch d.Reason {
	case lifecycle.ReasonOwnershipAnyone:
		s.Reason = SparedOwnedByAnyone
	case lifecycle.ReasonWerfResourcePolicy:
		s.Reason = SparedKept
	case lifecycle.ReasonHelmResourcePolicy:
		s.Reason = SparedHelmKept
	default:
		s.Owner, _, _ = strings.Cut(d.Owner, "/")
	}
	return s
}

func (c *deployKubeClient) Build(r io.Reader, validate bool) (kube.ResourceList, error) {
	if c.transform == nil {
		return c.Client.Build(r, validate)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out, err := c.transform(data)
	if err != nil {
		return nil, err
	}
	return c.Client.Build(bytes.NewReader(out), validate)
}

// Create is how Helm creates a first install's objects and each hook's objects; only the
// former go to the Applier. Hooks are created by createHook (with the inert hooks of the same
// turn, hookBatch).
func (c *deployKubeClient) Create(resources kube.ResourceList) (*kube.Result, error) {
	if isHookList(resources) {
		return c.createHook(resources)
	}
	if c.applier == nil {
		return c.Client.Create(resources)
	}
	withoutReleaseMetadata(resources)
	return &kube.Result{Created: resources}, c.applier.Apply(c.retried, resources, helmOps{client: c.Client, install: true, keepManual: c.keepManual})
}

// createHookObjects creates a hook's objects as Helm does (then awaited by the Applier), once
// an old copy still being deleted is gone: Helm deletes one by before-hook-creation and
// waits, but a copy deleted by hook-succeeded or by hand may still be terminating.
func (c *deployKubeClient) createHookObjects(resources kube.ResourceList) (*kube.Result, error) {
	if c.applier == nil {
		return c.Client.Create(resources)
	}
	if len(resources) == 1 {
		// One request, as Helm: the live copy is read only when one is in the way.
		res, err := c.Client.Create(resources)
		if !apierrors.IsAlreadyExists(err) {
			return res, err
		}
	}
	ops := helmOps{client: c.Client}
	var terminating kube.ResourceList
	for _, info := range resources {
		live, err := ops.Get(info)
		if err != nil {
			return nil, fmt.Errorf("read %s %q before creating it: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
		}
		if live != nil && live.GetDeletionTimestamp() != nil {
			terminating = append(terminating, info)
		}
	}
	if len(terminating) > 0 {
		if err := c.applier.AwaitGone(terminating, "the hook's previous copy is still being deleted"); err != nil {
			return nil, err
		}
	}
	return c.Client.Create(resources)
}

// Delete is how Helm deletes hooks by their delete policy (before-hook-creation,
// hook-succeeded, hook-failed); WaitForDelete follows. With an Applier both go through it:
// each object's werf.io/delete-propagation (Foreground by default, as nelm), and the wait
// reported live and bounded by the operation.
func (c *deployKubeClient) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	if ahead := c.hooks.aheadOf(resources); ahead != nil {
		// Helm's delete by before-hook-creation of a hook created ahead of its turn, which
		// deleted the old copy first.
		<-ahead.done
		if len(ahead.deleteErrs) > 0 {
			return nil, ahead.deleteErrs
		}
		return &kube.Result{Deleted: resources}, nil
	}
	return c.deleteHookObjects(resources)
}

func (c *deployKubeClient) deleteHookObjects(resources kube.ResourceList) (*kube.Result, []error) {
	if c.applier == nil {
		return c.Client.Delete(resources)
	}
	c.goneMu.Lock()
	for _, info := range resources {
		delete(c.goneAtDelete, hookKey(info))
	}
	c.goneMu.Unlock()
	gone := func(info *resource.Info) {
		c.goneMu.Lock()
		defer c.goneMu.Unlock()
		if c.goneAtDelete == nil {
			c.goneAtDelete = map[string]bool{}
		}
		c.goneAtDelete[hookKey(info)] = true
	}
	if err := c.applier.Delete(resources, helmOps{client: c.Client, gone: gone}); err != nil {
		return nil, []error{err}
	}
	return &kube.Result{Deleted: resources}, nil
}

// WaitForDelete is how Helm awaits the hooks it deleted by their delete policy (and an
// uninstall's objects, which ours does not ask for): those still there are awaited through
// the Applier, or an uninstall's awaitGone.
func (c *deployKubeClient) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	c.hooks.waited(timeout)
	if ahead := c.hooks.aheadOf(resources); ahead != nil {
		<-ahead.done
		return ahead.waitErr
	}
	return c.awaitHookObjectsGone(resources, timeout)
}

func (c *deployKubeClient) awaitHookObjectsGone(resources kube.ResourceList, timeout time.Duration) error {
	if c.applier == nil && c.awaitGone == nil {
		return c.Client.WaitForDelete(resources, timeout)
	}
	var present kube.ResourceList
	for _, info := range resources {
		c.goneMu.Lock()
		gone := c.goneAtDelete[hookKey(info)]
		delete(c.goneAtDelete, hookKey(info))
		c.goneMu.Unlock()
		if gone {
			continue
		}
		live, err := helmOps{client: c.Client}.Get(info)
		if err != nil {
			return fmt.Errorf("read %s %q: %w", info.Mapping.GroupVersionKind.Kind, info.Name, err)
		}
		if live != nil {
			present = append(present, info)
		}
	}
	switch {
	case len(present) == 0:
		return nil
	case c.applier != nil:
		return c.applier.AwaitGone(present, "deleted by helm.sh/hook-delete-policy")
	}
	return c.awaitGone(c.context, present)
}

func (c *deployKubeClient) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if c.applier == nil || force {
		return c.Client.Update(original, target, force)
	}
	withoutReleaseMetadata(target)
	return &kube.Result{Updated: target}, c.applier.Apply(c.previous(original), target, helmOps{client: c.Client, keepManual: c.keepManual})
}

func (c *deployKubeClient) UpdateThreeWayMerge(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if c.applier == nil || force {
		return c.Client.UpdateThreeWayMerge(original, target, force)
	}
	withoutReleaseMetadata(target)
	return &kube.Result{Updated: target}, c.applier.Apply(c.previous(original), target, helmOps{client: c.Client, threeWay: true, keepManual: c.keepManual})
}

// previous is what an update replaces: the retried revision's objects on an install that
// retries a failed one, else Helm's original.
func (c *deployKubeClient) previous(original kube.ResourceList) kube.ResourceList {
	if c.retried != nil {
		return c.retried
	}
	return original
}

func (c *deployKubeClient) WatchUntilReady(resources kube.ResourceList, timeout time.Duration) error {
	c.hooks.waited(timeout)
	if c.applier == nil {
		return c.Client.WatchUntilReady(resources, timeout)
	}
	return c.applier.AwaitHook(resources)
}

func isHookList(resources kube.ResourceList) bool {
	if len(resources) == 0 {
		return false
	}
	for _, info := range resources {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok || u.GetAnnotations()[lifecycle.AnnotationHook] == "" {
			return false
		}
	}
	return true
}

// actionSettings is what one Helm action runs with beyond what every action shares.
type actionSettings struct {
	// applier applies the release's objects and awaits its hooks; nil lets Helm do it.
	applier    Applier
	keepManual bool
	// storedValues are stored in the revisions the action creates instead of the rendered
	// values; nil stores the rendered values.
	storedValues map[string]any
	// storedChart is stored in the revisions the action creates instead of the chart it
	// renders; nil stores that chart.
	storedChart *chart.Chart
	// checkStored, when set, may refuse a revision before it is stored (and so before any
	// hook runs or object is applied).
	checkStored func(*helmrelease.Release) error
	historyMax  int
	// owner, deleteOrder, awaitGone, deleteTimeout and context (nil: none ends the waits):
	// see deployKubeClient.
	owner         *ownership
	deleteOrder   func([]*resource.Info) ([][]*resource.Info, error)
	awaitGone     func(context.Context, []*resource.Info) error
	deleteTimeout time.Duration
	context       context.Context
}

// actionConfig is a Helm configuration of one action's own: its kube client carries the
// action's applier and deletion rules and its storage the action's stored values, so nothing
// of one action stays on the Client (the storage driver underneath, with its cache, is
// shared). The kube client is nil when Helm's own is not a *kube.Client.
func (c *Client) actionConfig(s actionSettings) (*action.Configuration, *deployKubeClient) {
	cfg := *c.cfg
	releases := *c.cfg.Releases
	if s.storedValues != nil || s.storedChart != nil {
		releases.Driver = drivers.StoredAs(releases.Driver, s.storedValues, s.storedChart)
	}
	if s.checkStored != nil {
		releases.Driver = checkedDriver{Driver: releases.Driver, check: s.checkStored}
	}
	releases.MaxHistory = s.historyMax
	cfg.Releases = &releases
	if c.kube == nil {
		return &cfg, nil
	}
	var hooks *hookBatch
	if !c.hooksOneByOne {
		hooks = newHookBatch()
		releases.Driver = recordingDriver{Driver: releases.Driver, batch: hooks}
	}
	if s.context == nil {
		s.context = context.Background()
	}
	kube := &deployKubeClient{
		Client: c.kube.Client, transform: c.kube.transform,
		applier: s.applier, keepManual: s.keepManual,
		owner: s.owner, deleteOrder: s.deleteOrder, awaitGone: s.awaitGone, deleteTimeout: s.deleteTimeout,
		context: s.context, hooks: hooks,
	}
	cfg.KubeClient = kube
	return &cfg, kube
}

// withoutReleaseMetadata removes the metadata Helm gave the objects owned by anyone.
func withoutReleaseMetadata(resources kube.ResourceList) {
	for _, info := range resources {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok || !lifecycle.OwnedByAnyone(u.GetAnnotations()) {
			continue
		}
		labels := u.GetLabels()
		delete(labels, "app.kubernetes.io/managed-by")
		u.SetLabels(labels)
		ann := u.GetAnnotations()
		delete(ann, lifecycle.AnnotationReleaseName)
		delete(ann, lifecycle.AnnotationReleaseNamespace)
		u.SetAnnotations(ann)
	}
}

// checkedDriver refuses to create a revision its check refuses: Helm stores a new revision
// before it runs any hook or applies any object.
type checkedDriver struct {
	driver.Driver
	check func(*helmrelease.Release) error
}

func (d checkedDriver) Create(key string, rls *helmrelease.Release) error {
	if err := d.check(rls); err != nil {
		return err
	}
	return d.Driver.Create(key, rls)
}
