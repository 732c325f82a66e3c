// Package apply is the deploy engine Helm calls back into: it orders a release's objects by
// werf's weights and dependencies, applies them group by group (a three-way patch per
// object), tracks each group until ready, deletes what left the chart in dependency order, and
// reads the lifecycle annotations of werf and nelm that steer all of it.
package apply

import (
	"context"
	"errors"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track"
	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// applyParallelism bounds the objects of one wave sent to the API server at once.
const applyParallelism = 8

// Applier puts a release's objects into the cluster group by group (werf.io/weight), each
// group in waves by dependencies, tracks each group until ready before the next, then deletes
// what left the chart. Helm calls it from its install, upgrade and rollback actions.
type Applier struct {
	ctx       context.Context
	release   string
	namespace string
	// adoptRun, when set (--force-adoption), records on every object taken over from
	// another owner that this run adopted it; handBackRun returns the objects a failed run
	// adopted instead of deleting them (the auto-rollback of that run).
	adoptRun    string
	handBackRun string
	clients     track.Clients
	track       track.Options
	sink        track.Sink
	start       time.Time

	mu      sync.Mutex
	results []track.ObjectResult
	// applied is when each object was sent: its tracking time counts from there.
	applied map[track.Ref]time.Time
	// failure is the first tracking failure or timeout, with its exit code: Helm's own
	// error message for it says less.
	failure error
}

var _ helmsdk.Applier = (*Applier)(nil)

// Config is what an Applier needs for one operation.
type Config struct {
	Release, Namespace string
	Clients            track.Clients
	// Track are the tracking options; Since and NoSummary are set by the Applier.
	Track track.Options
	// Sink receives the stages, the objects' progress and failures; nil discards them.
	Sink track.Sink
	// Start is when the operation started: tracking times count from it.
	Start time.Time
	// AdoptRun, when set (--force-adoption), records on every object taken over from another
	// owner that this run adopted it; HandBackRun returns the objects that run adopted to
	// their previous owners instead of deleting them (the auto-rollback of a failed run).
	AdoptRun, HandBackRun string
}

// New returns the Applier of one operation, which ends with ctx.
func New(ctx context.Context, c Config) *Applier {
	sink := c.Sink
	if sink == nil {
		sink = func(track.Event) {}
	}
	trackOpts := c.Track
	trackOpts.Since = c.Start
	trackOpts.NoSummary = true
	return &Applier{ctx: ctx, release: c.Release, namespace: c.Namespace, clients: c.Clients, track: trackOpts, sink: sink, start: c.Start,
		applied: map[track.Ref]time.Time{}, adoptRun: c.AdoptRun, handBackRun: c.HandBackRun}
}

// Results are the tracking results of the objects so far.
func (a *Applier) Results() []track.ObjectResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]track.ObjectResult(nil), a.results...)
}

// Applied are the objects applied so far, in the order they were.
func (a *Applier) Applied() []track.Ref {
	a.mu.Lock()
	defer a.mu.Unlock()
	refs := make([]track.Ref, 0, len(a.applied))
	for ref := range a.applied {
		refs = append(refs, ref)
	}
	sort.SliceStable(refs, func(i, j int) bool { return a.applied[refs[i]].Before(a.applied[refs[j]]) })
	return refs
}

func (a *Applier) Stage(name, line string, objects []track.Ref) {
	a.sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(a.start), Stage: name, Line: line, Objects: objects})
}

func (a *Applier) Apply(previous, target []*resource.Info, ops helmsdk.Ops) error {
	objects := make([]*unstructured.Unstructured, 0, len(target))
	infos := map[*unstructured.Unstructured]*resource.Info{}
	for _, info := range target {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			return fmt.Errorf("%s %q: unexpected object type %T", info.Mapping.GroupVersionKind.Kind, info.Name, info.Object)
		}
		objects = append(objects, u)
		infos[u] = info
	}
	order, err := orderObjects(objects, a.namespace)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	for _, w := range order.warnings {
		a.sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(a.start), Line: "warning: " + w, Warning: true})
	}
	prev := map[string]*resource.Info{}
	for _, p := range previous {
		prev[InfoKey(p)] = p
	}
	for _, g := range order.groups {
		var refs []track.Ref
		var groupTargets []track.Target
		for _, wave := range g.waves {
			for _, s := range wave {
				t, err := TargetOf(infos[s.obj])
				if err != nil {
					return err
				}
				refs = append(refs, t.Ref)
				if !a.isReady(t.Ref) {
					groupTargets = append(groupTargets, t)
				}
			}
		}
		a.Stage(g.label(), fmt.Sprintf("apply %s: %s", g.label(), RefList(refs)), refs)
		if err := a.applyGroup(g, infos, prev, ops); err != nil {
			return err
		}
		err := a.await(groupTargets)
		if derr := a.deleteByPolicy(g, infos, ops); derr != nil && err == nil {
			err = derr
		}
		if err != nil {
			return err
		}
	}
	return a.deleteRemoved(previous, target, ops)
}

// deleteByPolicy deletes the group's objects whose werf.io/delete-policy asks for it after
// the result tracking found: succeeded once ready, failed once failed.
func (a *Applier) deleteByPolicy(g *applyGroup, infos map[*unstructured.Unstructured]*resource.Info, ops helmsdk.Ops) error {
	var errs []error
	for _, wave := range g.waves {
		for _, s := range wave {
			l, d := s.lifecycle, s.decision
			if !d.DeleteOnSucceeded && !d.DeleteOnFailed {
				continue
			}
			t, err := TargetOf(infos[s.obj])
			if err != nil {
				return err
			}
			state, policy := a.state(t.Ref), ""
			switch {
			case d.DeleteOnSucceeded && (state == track.StateReady || state == track.StateReadyWithWarnings):
				policy = "succeeded"
			case d.DeleteOnFailed && state == track.StateFailed:
				policy = "failed"
			default:
				continue
			}
			if err := ops.Delete(infos[s.obj], l.Propagation); err != nil {
				errs = append(errs, fmt.Errorf("delete %s (%s: %s): %w", t.Ref, lifecycle.AnnotationDeletePolicy, policy, err))
				continue
			}
			// Gone before the deploy goes on, as nelm tracks its absence.
			if err := a.awaitGone([]track.Ref{t.Ref}, false); err != nil {
				return errors.Join(append(errs, err)...)
			}
			line := fmt.Sprintf("deleted %s: it %s and is annotated %s: %s", t.Ref, policy, lifecycle.AnnotationDeletePolicy, policy)
			a.Stage("delete", line, []track.Ref{t.Ref})
			a.act(t.Ref, lifecycle.Decision{Action: lifecycle.ActionDelete, Reason: lifecycle.Reason(reasonDeletePolicy + policy), Phase: lifecycle.PhaseApply}, line)
		}
	}
	return errors.Join(errs...)
}

// Delete deletes hook objects Helm deletes by their delete policy, each with its
// werf.io/delete-propagation; Helm then awaits them with AwaitGone.
func (a *Applier) Delete(objects []*resource.Info, ops helmsdk.Ops) error {
	var errs []error
	for _, info := range objects {
		if err := ops.Delete(info, propagationOf(info)); err != nil {
			t, _ := TargetOf(info)
			errs = append(errs, fmt.Errorf("delete %s: %w", t.Ref, err))
		}
	}
	return errors.Join(errs...)
}

// applyGroup applies every object of the group as soon as what it waits for is there: the
// objects of the group it depends on applied (and ready, when asked), its external
// dependencies present and ready. Independent objects go at once, a few at a time.
func (a *Applier) applyGroup(g *applyGroup, infos map[*unstructured.Unstructured]*resource.Info, prev map[string]*resource.Info, ops helmsdk.Ops) error {
	ctx, abort := context.WithCancel(a.ctx)
	defer abort()
	applied := map[*applyStep]chan struct{}{}
	var steps []*applyStep
	for _, wave := range g.waves {
		for _, s := range wave {
			applied[s] = make(chan struct{})
			steps = append(steps, s)
		}
	}
	sem := make(chan struct{}, applyParallelism)
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		redact.Go(func() {
			defer wg.Done()
			for _, d := range s.waitsFor {
				if ch, inGroup := applied[d.step]; inGroup {
					select {
					case <-ch:
					case <-ctx.Done():
						return
					}
				}
			}
			if err := a.awaitDependencies(s, infos, applied); err != nil {
				errs[i] = err
				abort()
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			info := infos[s.obj]
			err := a.applyOne(s, info, prev[InfoKey(info)], ops)
			<-sem
			if err != nil {
				errs[i] = err
				abort()
				return
			}
			close(applied[s])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, ch := range applied {
		select {
		case <-ch:
		default:
			// A step gave up because the context ended before it was applied.
			return a.Interrupted(context.Cause(a.ctx))
		}
	}
	return nil
}

// awaitDependencies waits until the group's objects s needs ready are ready and the external
// objects it names are present and ready.
func (a *Applier) awaitDependencies(s *applyStep, infos map[*unstructured.Unstructured]*resource.Info, inGroup map[*applyStep]chan struct{}) error {
	var targets []track.Target
	seen := map[track.Ref]bool{}
	for _, d := range s.waitsFor {
		if _, ok := inGroup[d.step]; !ok || d.state != lifecycle.DependencyStateReady {
			continue
		}
		t, err := TargetOf(infos[d.step.obj])
		if err != nil {
			return err
		}
		if !seen[t.Ref] && !a.isReady(t.Ref) {
			seen[t.Ref] = true
			targets = append(targets, t)
		}
	}
	for _, e := range s.lifecycle.External {
		ref, err := a.externalRef(e, objectNamespace(s.obj, a.namespace))
		if err != nil {
			return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s %q: %w", s.obj.GetKind(), s.obj.GetName(), err))
		}
		if !seen[ref] {
			seen[ref] = true
			targets = append(targets, track.Target{Ref: ref, Policy: readiness.DefaultPolicy()})
		}
	}
	if len(targets) == 0 {
		return nil
	}
	refs := make([]track.Ref, 0, len(targets))
	for _, t := range targets {
		refs = append(refs, t.Ref)
	}
	self, err := TargetOf(infos[s.obj])
	if err != nil {
		return err
	}
	a.Stage("dependencies", fmt.Sprintf("%s waiting for %s", self.Ref, RefList(refs)), refs)
	return a.await(targets)
}

// externalRef resolves "secret/config" or "deployments.v1.apps/app" with the API server's
// discovery.
func (a *Applier) externalRef(e lifecycle.ExternalDependency, namespace string) (track.Ref, error) {
	if e.Kind != "" {
		gv, err := schema.ParseGroupVersion(e.APIVersion)
		if err != nil {
			return track.Ref{}, fmt.Errorf("external dependency %q: apiVersion %q: %w", e.ID, e.APIVersion, err)
		}
		mapping, err := a.clients.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: e.Kind}, gv.Version)
		if err != nil {
			return track.Ref{}, fmt.Errorf("external dependency %q: the API server serves no %s in %s: %w", e.ID, e.Kind, e.APIVersion, err)
		}
		if e.Namespace != "" {
			namespace = e.Namespace
		}
		if mapping.Scope.Name() != "namespace" {
			namespace = ""
		}
		return track.Ref{Group: gv.Group, Version: gv.Version, Kind: e.Kind, Namespace: namespace, Name: e.Name}, nil
	}
	resourceArg, name, _ := strings.Cut(e.Resource, "/")
	gvr, gr := schema.ParseResourceArg(strings.ToLower(resourceArg))
	var gvk schema.GroupVersionKind
	var err error
	if gvr != nil {
		gvk, err = a.clients.Mapper.KindFor(*gvr)
	}
	if gvr == nil || err != nil {
		gvk, err = a.clients.Mapper.KindFor(gr.WithVersion(""))
	}
	if err != nil {
		return track.Ref{}, fmt.Errorf("external dependency %q: the API server knows no resource %q: %w", e.ID, resourceArg, err)
	}
	mapping, err := a.clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return track.Ref{}, fmt.Errorf("external dependency %q: %w", e.ID, err)
	}
	if e.Namespace != "" {
		namespace = e.Namespace
	}
	if mapping.Scope.Name() != "namespace" {
		namespace = ""
	}
	return track.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: namespace, Name: name}, nil
}

// decide is lifecycle.Decide for an object of this deploy: l its parsed target (nil when it
// left the chart), previous the previous revision's copy, live the cluster's.
func (a *Applier) decide(l *lifecycle.Lifecycle, previous *resource.Info, live *unstructured.Unstructured, immutable bool) lifecycle.Decision {
	in := lifecycle.Input{Mode: lifecycle.ModeDeploy, Release: a.release, Namespace: a.namespace, Target: l,
		ImmutableFieldChanged: immutable, AdoptRun: a.adoptRun, HandBackRun: a.handBackRun}
	if previous != nil {
		if u, ok := previous.Object.(*unstructured.Unstructured); ok {
			if p, err := lifecycle.Parse(u.GetKind(), u.GetAnnotations()); err == nil {
				in.Previous = &p
			}
		}
	}
	if live != nil {
		in.Live = &lifecycle.Live{Annotations: live.GetAnnotations(), Terminating: live.GetDeletionTimestamp() != nil}
	}
	return lifecycle.Decide(in)
}

// applyOne executes the object's decision: create, update, adopt or recreate it.
func (a *Applier) applyOne(s *applyStep, info, previous *resource.Info, ops helmsdk.Ops) error {
	l := s.lifecycle
	name := Describe(s.obj)
	ref, err := TargetOf(info)
	if err != nil {
		return err
	}
	if previous == nil && l.ReplicasOnCreation == nil {
		// New in the release: created in one request, as Helm does; only an object that is
		// there already is read and decided on.
		if d := a.decide(&l, nil, nil, false); d.Action == lifecycle.ActionCreate {
			err := ops.Create(info)
			if err == nil {
				s.decision = d
				a.markApplied(ref.Ref, d)
				return nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("apply %s: %w", name, err)
			}
		}
	}
	live, err := ops.Get(info)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	d := a.decide(&l, previous, live, false)
	s.decision = d
	switch {
	case d.Action == lifecycle.ActionRefuse:
		return a.refuse(ref.Ref, d)
	case d.Action == lifecycle.ActionRecreate && d.Reason == lifecycle.ReasonBeforeCreation:
		if err := a.recreate(info, ops, d); err != nil {
			return err
		}
		previous, live = nil, nil
	}
	// A copy still being deleted is waited for below: the object is then created.
	if previous, err = PrepareForApply(s.obj, previous, l, live != nil && live.GetDeletionTimestamp() == nil); err != nil {
		return err
	}
	done := d
	err = ops.Apply(previous, info, live)
	if errors.Is(err, helmsdk.ErrTerminating) {
		terminating := lifecycle.Decision{Action: lifecycle.ActionRecreate, Reason: lifecycle.ReasonTerminating, Phase: d.Phase}
		done = terminating
		a.Stage("recreate", fmt.Sprintf("recreate %s: %s: waiting until it is gone", ref.Ref, terminating.Why()), []track.Ref{ref.Ref})
		if err = a.awaitGone([]track.Ref{ref.Ref}, false); err == nil {
			err = ops.Apply(previous, info, nil)
		}
	}
	if err == nil && d.Action == lifecycle.ActionAdopt {
		err = helmsdk.RecordAdoption(info, d.Owner, a.adoptRun)
	}
	if err != nil && strings.Contains(err.Error(), "field is immutable") {
		switch again := a.decide(&l, previous, live, true); again.Action {
		case lifecycle.ActionRecreate:
			done = again
			if err = a.recreate(info, ops, again); err == nil {
				err = ops.Apply(nil, info, nil)
			}
		case lifecycle.ActionRefuse:
			err = a.refuse(ref.Ref, again)
		}
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", name, err)
	}
	a.markApplied(ref.Ref, done)
	return nil
}

// markApplied records that the object ref was applied as decision d said, and says so.
func (a *Applier) markApplied(ref track.Ref, d lifecycle.Decision) {
	a.mu.Lock()
	a.applied[ref] = time.Now()
	a.mu.Unlock()
	a.act(ref, d, actLine(ref, d))
}

// refuse is the error of a recreation refused because the object is another release's:
// deleting to recreate obeys the ownership rules of deletion (werf.io/ownership: anyone skips
// only the apply-time check).
func (a *Applier) refuse(ref track.Ref, d lifecycle.Decision) error {
	return fmt.Errorf("not recreating %s (%s): it belongs to release %s; rename it, or take it over with --force-adoption", ref, d.Why(), d.Owner)
}

// recreate deletes the live object, if any, and waits until it is gone (decision d).
func (a *Applier) recreate(info *resource.Info, ops helmsdk.Ops, d lifecycle.Decision) error {
	ref, _ := TargetOf(info)
	a.Stage("recreate", fmt.Sprintf("recreate %s: %s", ref.Ref, d.Why()), []track.Ref{ref.Ref})
	if err := ops.Delete(info, propagationOf(info)); err != nil {
		return fmt.Errorf("delete %s to recreate it: %w", ref.Ref, err)
	}
	return a.awaitGone([]track.Ref{ref.Ref}, false)
}

// deleteRemoved executes the decisions on the objects that left the chart: deleted in
// delete-dependency order, kept by a resource policy or werf.io/ownership: anyone, left to the
// release that owns them now, or handed back to the owner a failed run adopted them from.
func (a *Applier) deleteRemoved(previous, target []*resource.Info, ops helmsdk.Ops) error {
	wanted := map[string]bool{}
	for _, t := range target {
		wanted[InfoKey(t)] = true
	}
	var removed []*resource.Info
	var errs []error
	for _, p := range previous {
		if wanted[InfoKey(p)] {
			continue
		}
		t, err := TargetOf(p)
		if err != nil {
			return err
		}
		live, err := ops.Get(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s before deleting it: %w", t.Ref, err))
			continue
		}
		if live == nil {
			continue
		}
		d := a.decide(nil, p, live, false)
		switch d.Action {
		case lifecycle.ActionHandBack:
			if err := helmsdk.HandBack(p, live.GetAnnotations()); err != nil {
				errs = append(errs, fmt.Errorf("hand %s back to %q: %w", t.Ref, d.Owner, err))
			} else {
				line := fmt.Sprintf("handed %s back to %q: %s", t.Ref, d.Owner, d.Why())
				a.Stage("hand-back", line, []track.Ref{t.Ref})
				a.act(t.Ref, d, line)
			}
			continue
		case lifecycle.ActionKeep:
			line := fmt.Sprintf("keep %s: it left the chart and %s", t.Ref, d.Why())
			a.Stage("keep", line, []track.Ref{t.Ref})
			a.act(t.Ref, d, line)
			continue
		case lifecycle.ActionOrphan:
			line := fmt.Sprintf("not deleting %s: it left the chart but no longer belongs to release %q (%s=%q)", t.Ref, a.release, lifecycle.AnnotationReleaseName, live.GetAnnotations()[lifecycle.AnnotationReleaseName])
			a.sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(a.start), Stage: "orphan", Warning: true, Objects: []track.Ref{t.Ref}, Line: line})
			a.act(t.Ref, d, line)
			continue
		case lifecycle.ActionNone:
			continue
		}
		removed = append(removed, p)
	}
	waves, err := DeleteWaves(removed, a.namespace)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, wave := range waves {
		var deleted []track.Ref
		for _, p := range wave {
			t, _ := TargetOf(p)
			if err := ops.Delete(p, propagationOf(p)); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", t.Ref, err))
				continue
			}
			deleted = append(deleted, t.Ref)
		}
		if len(deleted) == 0 {
			continue
		}
		// Reported deleted once gone, as nelm tracks their absence: an object still
		// terminating would be patched, not created, if the next converge brings it back. The
		// next wave's delete dependencies wait for these too.
		a.Stage("delete", "deleting, no longer in the chart: "+RefList(deleted), deleted)
		if err := a.awaitGone(deleted, true); err != nil {
			return errors.Join(append(errs, err)...)
		}
		a.Stage("delete", "deleted, no longer in the chart: "+RefList(deleted), deleted)
		for _, r := range deleted {
			a.act(r, lifecycle.Decision{Action: lifecycle.ActionDelete, Reason: lifecycle.ReasonLeftChart, Phase: lifecycle.PhaseCleanup}, "deleted "+r.String()+": no longer in the chart")
		}
		if len(errs) > 0 {
			break
		}
	}
	return errors.Join(errs...)
}

// propagationOf is the object's werf.io/delete-propagation: Foreground by default, as nelm.
func propagationOf(info *resource.Info) metav1.DeletionPropagation {
	if u, ok := info.Object.(*unstructured.Unstructured); ok {
		if l, err := lifecycle.Parse(u.GetKind(), u.GetAnnotations()); err == nil {
			return l.Propagation
		}
	}
	return metav1.DeletePropagationForeground
}

func (a *Applier) AwaitHook(objects []*resource.Info) error {
	var targets []track.Target
	var refs []track.Ref
	hook := ""
	for _, info := range objects {
		t, err := TargetOf(info)
		if err != nil {
			return err
		}
		targets = append(targets, t)
		refs = append(refs, t.Ref)
		if u, ok := info.Object.(*unstructured.Unstructured); ok && hook == "" {
			hook = u.GetAnnotations()[lifecycle.AnnotationHook]
		}
	}
	a.Stage("hook "+hook, fmt.Sprintf("hook %s: %s", hook, RefList(refs)), refs)
	for _, r := range refs {
		a.act(r, lifecycle.Decision{Action: lifecycle.ActionHook, Reason: lifecycle.ReasonHookEvent, Phase: hookPhase(hook)}, fmt.Sprintf("hook %s: %s", hook, r))
	}
	// Helm awaits a hook right after creating it.
	created := time.Now()
	a.mu.Lock()
	for _, r := range refs {
		a.applied[r] = created
	}
	a.mu.Unlock()
	return a.await(targets)
}

// await tracks targets until they are ready; a failure or timeout is kept as the deploy's
// failure.
func (a *Applier) await(targets []track.Target) error {
	if len(targets) == 0 {
		return nil
	}
	a.mu.Lock()
	for i := range targets {
		targets[i].Applied = a.applied[targets[i].Ref]
	}
	a.mu.Unlock()
	res, err := track.Track(a.ctx, a.clients, targets, a.track, a.sink)
	if err != nil {
		return err
	}
	a.record(res.Objects)
	terr := res.Err()
	if terr == nil {
		return nil
	}
	code := exitcode.CodeDeployFailed
	if len(res.Failed()) == 0 {
		if cerr := a.ctx.Err(); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			return a.Interrupted(cerr)
		}
		code = exitcode.CodeTimeout
		terr = fmt.Errorf("timed out: %w", terr)
	}
	err = exitcode.Wrap(code, terr)
	a.mu.Lock()
	if a.failure == nil {
		a.failure = err
	}
	a.mu.Unlock()
	return err
}

func (a *Applier) Interrupted(cause error) error {
	err := exitcode.Wrap(exitcode.CodeDeployFailed, fmt.Errorf("interrupted: %w", cause))
	if errors.Is(cause, context.DeadlineExceeded) {
		err = exitcode.Wrap(exitcode.CodeTimeout, errTimeUp)
	}
	a.mu.Lock()
	if a.failure == nil {
		a.failure = err
	}
	a.mu.Unlock()
	return err
}

// isReady reports whether an earlier tracking run of this deploy found ref ready.
func (a *Applier) isReady(ref track.Ref) bool {
	state := a.state(ref)
	return state == track.StateReady || state == track.StateReadyWithWarnings
}

// state is where tracking last found ref; "" when it was not tracked.
func (a *Applier) state(ref track.Ref) track.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.results {
		if r.Object == ref {
			return r.Status.State
		}
	}
	return ""
}

// record keeps the newest result of every object.
func (a *Applier) record(objects []track.ObjectResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, o := range objects {
		replaced := false
		for i := range a.results {
			if a.results[i].Object == o.Object {
				a.results[i], replaced = o, true
			}
		}
		if !replaced {
			a.results = append(a.results, o)
		}
	}
}

// explain prefers the Applier's own account of a failure to Helm's wrapping of it.
func (a *Applier) Explain(err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failure != nil {
		return a.failure
	}
	if exitcode.Of(err) == exitcode.CodeUsage {
		return err
	}
	return exitcode.DeployFailure(err)
}

// errTimeUp ends a deploy whose --timeout ran out before tracking could say what it waited
// for (while applying, or in Helm's own waits); it still matches context.DeadlineExceeded.
var errTimeUp error = timeUpError{}

type timeUpError struct{}

func (timeUpError) Error() string {
	return "the time given by --timeout ran out before every object was applied and tracked"
}

func (timeUpError) Is(target error) bool { return target == context.DeadlineExceeded }

func TargetOf(info *resource.Info) (track.Target, error) {
	gvk := info.Mapping.GroupVersionKind
	ref := track.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: info.Namespace, Name: info.Name}
	policy := readiness.DefaultPolicy()
	if u, ok := info.Object.(*unstructured.Unstructured); ok {
		p, err := readiness.ParsePolicy(u.GetAnnotations())
		if err != nil {
			return track.Target{}, exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: %w", ref, err))
		}
		policy = p
	}
	return track.Target{Ref: ref, Policy: policy}, nil
}

func InfoKey(info *resource.Info) string {
	gvk := info.Mapping.GroupVersionKind
	return gvk.Group + "/" + gvk.Kind + "/" + info.Namespace + "/" + info.Name
}

func RefList(refs []track.Ref) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, r.String())
	}
	if len(parts) > 12 {
		return strings.Join(parts[:12], ", ") + fmt.Sprintf(" and %d more", len(parts)-12)
	}
	return strings.Join(parts, ", ")
}
