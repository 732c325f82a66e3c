// Package track follows deployed objects until each is ready or has failed, and explains
// failures: which pod and container, the reason, the last log lines and the events. It emits
// a stream of typed events; printers (shared/printer) render them for a terminal, a CI log
// or JSON lines.
package track

import (
	"fmt"
	"strings"

	"github.com/kubectl-converge/converge/shared/event"
	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// The event vocabulary (Event, its types, Ref, ObjectResult, Sink) is defined in shared/event,
// a leaf that the lock and the preflight emit through too; track names it for its callers.
type (
	Ref          = event.Ref
	Event        = event.Event
	EventType    = event.Type
	ObjectResult = event.ObjectResult
	Sink         = event.Sink
)

// Types of Event: see event.Type.
const (
	EventTypeStatus    = event.TypeStatus
	EventTypeLog       = event.TypeLog
	EventTypeKubeEvent = event.TypeKubeEvent
	EventTypeWaiting   = event.TypeWaiting
	EventTypeSummary   = event.TypeSummary
	EventTypeStage     = event.TypeStage
	EventTypeAction    = event.TypeAction
)

// The readiness vocabulary (State, Status, Failure, Policy, Limits) is defined in
// track/readiness with the rules that produce it; track names it for its callers.
type (
	State   = readiness.State
	Status  = readiness.Status
	Failure = readiness.Failure
	Policy  = readiness.Policy
	Limits  = readiness.Limits
)

// States of a tracked object: see readiness.State.
const (
	StateProgressing       = readiness.StateProgressing
	StateReady             = readiness.StateReady
	StateReadyWithWarnings = readiness.StateReadyWithWarnings
	StateFailed            = readiness.StateFailed
	StateSkipped           = readiness.StateSkipped
	StateDeleted           = readiness.StateDeleted
)

// Result is the outcome of a tracking run.
type Result struct {
	Objects []ObjectResult
}

// Failed returns the objects that failed.
func (r *Result) Failed() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Status.State == StateFailed {
			out = append(out, o)
		}
	}
	return out
}

// Unfinished returns the objects still progressing (at a timeout).
func (r *Result) Unfinished() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Status.State == StateProgressing {
			out = append(out, o)
		}
	}
	return out
}

// Err summarizes failed and unfinished objects as one error, nil when all are done and none
// failed.
func (r *Result) Err() error {
	failed, waiting := r.Failed(), r.Unfinished()
	if len(failed) == 0 && len(waiting) == 0 {
		return nil
	}
	var parts []string
	for _, f := range failed {
		parts = append(parts, fmt.Sprintf("%s failed: %s", f.Object, f.Status.Failure.Error()))
	}
	if len(failed) == 0 {
		for _, w := range waiting {
			parts = append(parts, notReadyLine(w))
		}
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// notReadyLine says why an object was not ready at a timeout: its last status, its last
// warning and its last log line.
func notReadyLine(w ObjectResult) string {
	line := fmt.Sprintf("%s not ready: %s", w.Object, w.Status.Detail)
	f := w.Status.Failure
	if f == nil {
		return line
	}
	if f.Pod != "" && !strings.Contains(w.Status.Detail, f.Pod) {
		line += "; pod " + f.Pod
		if f.Container != "" {
			line += " container " + f.Container
		}
	}
	if n := len(f.Events); n > 0 {
		line += "; last warning: " + f.Events[n-1]
	}
	if n := len(f.Logs); n > 0 {
		line += "; last log line: " + f.Logs[n-1]
	}
	return line
}
