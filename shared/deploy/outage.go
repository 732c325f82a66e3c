package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/track"
)

// APIServer is what a run needs of its clients' retry policy (kuberetry.Policy): requests
// that carry no deadline of their own (the Helm SDK's) retry until the run's, and whether
// the API server answers now.
type APIServer interface {
	// Bind makes requests without a deadline retry until ctx ends; unbind restores.
	Bind(ctx context.Context) (unbind func())
	// Unreachable says since when the API server has not answered, and why, while it does
	// not.
	Unreachable() (since time.Time, cause string, down bool)
}

// outageGrace is how long a run whose deadline passed while the API server did not answer
// waits for it to answer again, to mark the interrupted revision failed itself.
const outageGrace = 5 * time.Second

// OutageError ends a run whose deadline passed while the API server did not answer.
type OutageError struct {
	// Since is when the API server stopped answering; Cause the first failure.
	Since time.Time
	Cause string
	// Applied are the objects the run applied before.
	Applied []track.Ref
	// Release is what became of the release record: "revision 2 was marked failed", ...
	Release string
}

func (e *OutageError) Error() string {
	applied := "no object was applied"
	if n := len(e.Applied); n > 0 {
		names := make([]string, n)
		for i, r := range e.Applied {
			names[i] = r.String()
		}
		applied = fmt.Sprintf("%d object(s) applied: %s", n, strings.Join(names, ", "))
	}
	return fmt.Sprintf("the Kubernetes API server was unreachable since %s (%s) when --timeout ran out: %s; %s; the next converge recovers the release and deploys again",
		e.Since.Format("15:04:05"), e.Cause, applied, e.Release)
}

// Is makes an OutageError a timeout for errors.Is(err, context.DeadlineExceeded).
func (e *OutageError) Is(target error) bool { return target == context.DeadlineExceeded }

// outage explains failure when the run's deadline (ctx) passed while the API server did not
// answer: since when, what was applied, where the release record was left (marked failed
// when the API server answers within outageGrace), exit code 4. Any other failure is
// returned as it is.
func outage(ctx, parent context.Context, api APIServer, client *helmsdk.Client, release string, applied []track.Ref, failure error, sink track.Sink) error {
	if api == nil || failure == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) || parent.Err() != nil {
		return failure
	}
	since, cause, down := api.Unreachable()
	if !down {
		return failure
	}
	grace, cancel := context.WithTimeout(parent, outageGrace)
	defer cancel()
	defer api.Bind(grace)()
	return exitcode.Wrap(exitcode.CodeTimeout, &OutageError{Since: since, Cause: cause, Applied: applied, Release: markInterrupted(client, release, sink)})
}

// markInterrupted marks failed the revision a run interrupted by an outage left pending,
// and says what became of the release record.
func markInterrupted(client *helmsdk.Client, release string, sink track.Sink) string {
	last, err := client.Last(release)
	switch {
	case errors.Is(err, helmsdk.ErrReleaseNotFound):
		return fmt.Sprintf("release %q has no revision yet", release)
	case err != nil:
		return fmt.Sprintf("the record of release %q could not be read (the API server still does not answer): a revision left pending is marked failed by the next converge", release)
	case !helmsdk.IsPending(last.Status):
		return fmt.Sprintf("release %q revision %d is %s", release, last.Revision, last.Status)
	}
	if err := client.MarkFailed(release, last.Revision, fmt.Sprintf("Interrupted while %s: the API server was unreachable when the time ran out", last.Status)); err != nil {
		return fmt.Sprintf("release %q revision %d was left %s (the API server did not answer to mark it failed)", release, last.Revision, last.Status)
	}
	sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "recover", Warning: true,
		Line: fmt.Sprintf("release %q revision %d, interrupted while %s, marked failed", release, last.Revision, last.Status)})
	return fmt.Sprintf("release %q revision %d, left %s, was marked failed", release, last.Revision, last.Status)
}
