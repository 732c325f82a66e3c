package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/track"
	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// AwaitGone follows objects being deleted until the API server no longer has them, as nelm
// waits for a deleted resource to be absent: every deletion waits here (objects that left the
// chart, recreation by werf.io/delete-policy, hooks Helm deletes by their delete policy, an
// old copy still terminating when its successor must be created, the uninstall). Their
// progress, with what holds each (finalizers, dependents of a foreground deletion), goes to
// sink as tracking events. It ends with ctx; the error then names what is still there and
// why (exit code 4 at a timeout).
func AwaitGone(ctx context.Context, clients track.Clients, refs []track.Ref, opts track.Options, sink track.Sink) ([]track.ObjectResult, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	targets := make([]track.Target, len(refs))
	for i, r := range refs {
		targets[i] = track.Target{Ref: r, Policy: readiness.DefaultPolicy()}
	}
	opts.Deletion, opts.PodLogs = true, false
	res, err := track.Track(ctx, clients, targets, opts, sink)
	if err != nil {
		return nil, err
	}
	var still []string
	for _, o := range res.Objects {
		if o.Status.State != track.StateDeleted {
			still = append(still, fmt.Sprintf("%s (%s)", o.Object, o.Status.Detail))
		}
	}
	if len(still) == 0 {
		return res.Objects, nil
	}
	what := strings.Join(still, ", ")
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
		return res.Objects, exitcode.Wrap(exitcode.CodeDeployFailed, fmt.Errorf("interrupted while waiting for the deletion of %s: %w", what, cause))
	}
	return res.Objects, exitcode.Wrap(exitcode.CodeTimeout, fmt.Errorf("timed out waiting for the deletion of %s: the time given by --timeout ran out", what))
}

// Refs names the objects as tracking does.
func Refs(objects []*resource.Info) ([]track.Ref, error) {
	refs := make([]track.Ref, 0, len(objects))
	for _, info := range objects {
		t, err := TargetOf(info)
		if err != nil {
			return nil, err
		}
		refs = append(refs, t.Ref)
	}
	return refs, nil
}

// awaitGone waits until the objects are gone (AwaitGone) within the operation; removed
// records them in the results (objects that left the release), others get their own result
// when applied again. A timeout or interruption is kept as the deploy's failure.
func (a *Applier) awaitGone(refs []track.Ref, removed bool) error {
	res, err := AwaitGone(a.ctx, a.clients, refs, a.track, a.sink)
	if removed {
		a.record(res)
	}
	if err != nil {
		a.mu.Lock()
		if a.failure == nil {
			a.failure = err
		}
		a.mu.Unlock()
	}
	return err
}

// AwaitGone waits until the objects Helm deleted, or an old copy of hook objects it is about
// to create, are gone.
func (a *Applier) AwaitGone(objects []*resource.Info, why string) error {
	refs, err := Refs(objects)
	if err != nil || len(refs) == 0 {
		return err
	}
	a.Stage("delete", fmt.Sprintf("waiting for %s to be gone: %s", RefList(refs), why), refs)
	return a.awaitGone(refs, false)
}
