package helmsdk

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/redact"
)

// Helm 3 runs the hooks of an event one after another (action.execHook): for each, in the
// order of weight then name, the delete by before-hook-creation and the wait until the old
// copy is gone, the revision stored with the hook running, the create, the wait until
// ready. A chain of RBAC hooks before a hook Job costs that whole round for each object.
// nelm applies the hooks of one weight together. Here, when Helm creates an inert hook
// (inertHookKinds), the inert hooks right after it of the same event and weight are created
// at the same time (bindings once the rest exist), each as Helm would have (delete by
// before-hook-creation, await the old copy gone, create); when Helm reaches one of them, its
// delete, wait and create are those results, so Helm stores each hook's phases as it would
// have, an error on the hook it belongs to. Helm's order between weights and events, and
// every hook's place after those Helm runs before it that are not inert, is unchanged.
//
// When the event stops at an earlier hook, the inert hooks created ahead stay, as if Helm had
// created them and stopped after: only hooks deleted before their own creation
// (before-hook-creation, Helm's default) are created ahead, so the next run deletes and
// recreates them, and dismiss deletes them with the release's other hooks.

// inertHookKinds are the kinds created ahead of their turn: they have no readiness of their
// own (the wait at their turn is immediate), start nothing, and change how no other object
// is admitted or run (webhook configurations, network policies and limit ranges do, and
// wait for their turn).
var inertHookKinds = map[string]bool{
	"ServiceAccount":                               true,
	"ConfigMap":                                    true,
	"Secret":                                       true,
	"Role.rbac.authorization.k8s.io":               true,
	"ClusterRole.rbac.authorization.k8s.io":        true,
	"RoleBinding.rbac.authorization.k8s.io":        true,
	"ClusterRoleBinding.rbac.authorization.k8s.io": true,
}

// hookBatch is what one action knows of the hooks Helm runs: the revision Helm stored last
// (it stores the revision with the hook running right before creating it), the hooks it
// created so far, and those created ahead of their turn.
type hookBatch struct {
	mu sync.Mutex
	// stored is the revision Helm stored last (dropped once a Create used it), hooks its
	// hooks in their order and runs their executions as stored.
	stored *helmrelease.Release
	hooks  []*helmrelease.Hook
	runs   map[*helmrelease.Hook]helmrelease.HookExecution
	// created are the hooks Helm created in this action (a hook of both the pre and the
	// post event is created twice).
	created map[*helmrelease.Hook]int
	// ahead are the hooks created ahead of their turn, by hookKey, until Helm's Create of
	// each takes its result.
	ahead map[string]*createdAhead
	// timeout is the last one Helm passed to a wait: what it would have waited with.
	timeout time.Duration
}

func newHookBatch() *hookBatch {
	return &hookBatch{runs: map[*helmrelease.Hook]helmrelease.HookExecution{}, created: map[*helmrelease.Hook]int{}, ahead: map[string]*createdAhead{}}
}

// createdAhead is one hook object created ahead of its turn, and where that stopped: each
// error is returned by the call of Helm's that would have met it.
type createdAhead struct {
	done               chan struct{}
	deleteErrs         []error
	waitErr, createErr error
	// object is the created object, as the API server returned it.
	object *resource.Info
}

// recordingDriver tells the hook batch each revision Helm stores.
type recordingDriver struct {
	driver.Driver
	batch *hookBatch
}

func (d recordingDriver) Update(key string, rls *helmrelease.Release) error {
	d.batch.record(rls)
	return d.Driver.Update(key, rls)
}

func (b *hookBatch) record(rls *helmrelease.Release) {
	if rls == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stored = rls
	b.hooks = slices.Clone(rls.Hooks)
	clear(b.runs)
	for _, h := range rls.Hooks {
		b.runs[h] = h.LastRun
	}
}

// hookEvents are the events an action runs, by the status Helm stores its revision with
// while it runs them.
var hookEvents = map[helmrelease.Status][2]helmrelease.HookEvent{
	helmrelease.StatusPendingInstall:  {helmrelease.HookPreInstall, helmrelease.HookPostInstall},
	helmrelease.StatusPendingUpgrade:  {helmrelease.HookPreUpgrade, helmrelease.HookPostUpgrade},
	helmrelease.StatusPendingRollback: {helmrelease.HookPreRollback, helmrelease.HookPostRollback},
	helmrelease.StatusUninstalling:    {helmrelease.HookPreDelete, helmrelease.HookPostDelete},
}

// startingHook returns the hook Helm is creating the object of: the one it stored as running
// last (its kind and name are the object's), and the event it runs it for. nil when none is.
func (b *hookBatch) startingHook(info *resource.Info) (*helmrelease.Hook, helmrelease.HookEvent) {
	stored := b.stored
	b.stored = nil
	if stored == nil || stored.Info == nil {
		return nil, ""
	}
	var hook *helmrelease.Hook
	for _, h := range stored.Hooks {
		run := b.runs[h]
		if run.Phase != helmrelease.HookPhaseRunning || h.Kind != info.Mapping.GroupVersionKind.Kind || h.Name != info.Name {
			continue
		}
		// A hook a rollback copied from an interrupted run may still say running.
		if hook == nil || run.StartedAt.After(b.runs[hook].StartedAt) {
			hook = h
		}
	}
	events, ok := hookEvents[stored.Info.Status]
	if hook == nil || !ok {
		return nil, ""
	}
	b.created[hook]++
	// Helm runs every hook of the pre event before any of the post event.
	pre, post := slices.Contains(hook.Events, events[0]), slices.Contains(hook.Events, events[1])
	switch {
	case pre && b.created[hook] == 1:
		return hook, events[0]
	case post && (!pre || b.created[hook] == 2):
		return hook, events[1]
	}
	return nil, ""
}

// sameTurn returns the hooks Helm runs right after hook in event's order, of its weight,
// that may be created ahead: up to the first that is not deleted before its creation or not
// the only hook of the event with its kind and name (createHook stops at the first that is
// not inert), so that none is created ahead of a hook Helm runs before it.
func (b *hookBatch) sameTurn(stored []*helmrelease.Hook, hook *helmrelease.Hook, event helmrelease.HookEvent) []*helmrelease.Hook {
	order := eventOrder(stored, event)
	i := slices.Index(order, hook)
	if i < 0 {
		return nil
	}
	names := map[string]int{}
	for _, h := range order {
		names[h.Kind+"/"+h.Name]++
	}
	var out []*helmrelease.Hook
	for _, h := range order[i+1:] {
		if h.Weight != hook.Weight {
			break
		}
		if names[h.Kind+"/"+h.Name] > 1 || !deletedBeforeCreation(h) {
			break
		}
		out = append(out, h)
	}
	return out
}

// eventOrder is the order Helm runs event's hooks in (action.execHook): the release's order
// (Helm's install order of kinds), then by weight and name.
func eventOrder(hooks []*helmrelease.Hook, event helmrelease.HookEvent) []*helmrelease.Hook {
	var out []*helmrelease.Hook
	for _, h := range hooks {
		if slices.Contains(h.Events, event) {
			out = append(out, h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Weight == out[j].Weight {
			return out[i].Name < out[j].Name
		}
		return out[i].Weight < out[j].Weight
	})
	return out
}

// deletedBeforeCreation says Helm deletes the hook's old copy before creating it: its
// policies say before-hook-creation, or say nothing (Helm's default).
func deletedBeforeCreation(h *helmrelease.Hook) bool {
	return len(h.DeletePolicies) == 0 || slices.Contains(h.DeletePolicies, helmrelease.HookBeforeHookCreation)
}

// aheadOf returns the hook object created ahead of its turn that resources is, nil when it
// is none.
func (b *hookBatch) aheadOf(resources kube.ResourceList) *createdAhead {
	if b == nil || len(resources) != 1 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ahead[hookKey(resources[0])]
}

// waited notes the timeout Helm waits for hooks with.
func (b *hookBatch) waited(timeout time.Duration) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.timeout = timeout
	b.mu.Unlock()
}

// createHook creates the objects of the hook Helm is at, and, at the same time, the inert
// hooks of its turn after it (hookBatch); or, for a hook created ahead, returns that.
func (c *deployKubeClient) createHook(resources kube.ResourceList) (*kube.Result, error) {
	if c.hooks == nil || len(resources) != 1 {
		return c.createHookObjects(resources)
	}
	c.hooks.mu.Lock()
	hook, event := c.hooks.startingHook(resources[0])
	key := hookKey(resources[0])
	if ahead := c.hooks.ahead[key]; ahead != nil {
		delete(c.hooks.ahead, key)
		c.hooks.mu.Unlock()
		<-ahead.done
		if ahead.createErr != nil {
			return nil, ahead.createErr
		}
		// Helm awaits the objects it passed: as if it had created them.
		if err := resources[0].Refresh(ahead.object.Object, true); err != nil {
			return nil, err
		}
		return &kube.Result{Created: resources}, nil
	}
	var turn []*helmrelease.Hook
	// Only an inert hook starts a turn: the objects created ahead must not be there before a
	// hook Helm creates first that they may need (a Namespace) or that must run first (a Job
	// reading their old copies). The hooks of a deletion after the release is gone
	// (post-delete) are never created ahead: nothing would delete one Helm never reached.
	if hook != nil && event != helmrelease.HookPostDelete && inertHookKinds[resources[0].Mapping.GroupVersionKind.GroupKind().String()] {
		turn = c.hooks.sameTurn(c.hooks.hooks, hook, event)
	}
	timeout := c.hooks.timeout
	c.hooks.mu.Unlock()
	if timeout <= 0 {
		timeout = c.deleteTimeout
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute // Helm's default
	}
	var first, then []aheadCreation
	for _, h := range turn {
		ahead, del, create := c.aheadOfTurn(h)
		if ahead == nil {
			break
		}
		if refersToOthers(create[0]) {
			then = append(then, aheadCreation{ahead, del, create})
		} else {
			first = append(first, aheadCreation{ahead, del, create})
		}
	}
	// Helm's call returns once every creation of the turn ended: none goes on behind Helm's
	// back when it stops there (an auto-rollback deleting the hooks could miss one).
	var wg sync.WaitGroup
	start := func(creations []aheadCreation) {
		for _, a := range creations {
			wg.Add(1)
			redact.Go(func() {
				defer wg.Done()
				defer close(a.ahead.done)
				c.createAhead(a.ahead, a.del, a.create, timeout)
			})
		}
	}
	start(first)
	res, err := c.createHookObjects(resources)
	wg.Wait()
	// Bindings go once their roles are there: the API server looks a binding's role up for a
	// deployer that may not escalate, and refuses one that is not there yet. When the turn
	// stopped, Helm creates them in their turn, if it gets there.
	if err == nil && !slices.ContainsFunc(first, aheadCreation.failed) {
		start(then)
	} else {
		c.hooks.drop(then)
	}
	wg.Wait()
	return res, err
}

// aheadCreation is one hook to create ahead of its turn: what to delete first, what to create.
type aheadCreation struct {
	ahead       *createdAhead
	del, create kube.ResourceList
}

func (a aheadCreation) failed() bool {
	return len(a.ahead.deleteErrs) > 0 || a.ahead.waitErr != nil || a.ahead.createErr != nil
}

// drop forgets creations registered ahead that did not start: Helm creates those in turn.
func (b *hookBatch) drop(creations []aheadCreation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range creations {
		delete(b.ahead, hookKey(a.create[0]))
	}
}

// refersToOthers says the object names others of its namespace or the cluster that must
// exist before it: a binding its role (the API server looks it up), a service account
// token Secret its account (the token controller deletes one whose account is missing).
func refersToOthers(info *resource.Info) bool {
	switch info.Mapping.GroupVersionKind.GroupKind().String() {
	case "RoleBinding.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io":
		return true
	case "Secret":
		u, ok := info.Object.(*unstructured.Unstructured)
		return ok && u.Object["type"] == string(corev1.SecretTypeServiceAccountToken)
	}
	return false
}

// aheadOfTurn builds hook h as Helm would (to delete, to create) and registers it as created
// ahead, when it is one object of an inert kind; nil otherwise (Helm creates it in turn).
func (c *deployKubeClient) aheadOfTurn(h *helmrelease.Hook) (*createdAhead, kube.ResourceList, kube.ResourceList) {
	del, err := c.Build(strings.NewReader(h.Manifest), false)
	if err != nil || len(del) != 1 {
		return nil, nil, nil
	}
	create, err := c.Build(strings.NewReader(h.Manifest), true)
	if err != nil || len(create) != 1 || hookKey(create[0]) != hookKey(del[0]) {
		return nil, nil, nil
	}
	if !inertHookKinds[create[0].Mapping.GroupVersionKind.GroupKind().String()] {
		return nil, nil, nil
	}
	ahead := &createdAhead{done: make(chan struct{}), object: create[0]}
	c.hooks.mu.Lock()
	defer c.hooks.mu.Unlock()
	key := hookKey(create[0])
	if c.hooks.ahead[key] != nil {
		return nil, nil, nil
	}
	c.hooks.ahead[key] = ahead
	return ahead, del, create
}

// createAhead does for one hook what Helm does before and at its creation: the delete by
// before-hook-creation, the wait until the old copy is gone, the create.
func (c *deployKubeClient) createAhead(ahead *createdAhead, del, create kube.ResourceList, timeout time.Duration) {
	if _, ahead.deleteErrs = c.deleteHookObjects(del); len(ahead.deleteErrs) > 0 {
		return
	}
	if ahead.waitErr = c.awaitHookObjectsGone(del, timeout); ahead.waitErr != nil {
		return
	}
	_, ahead.createErr = c.createHookObjects(create)
}
