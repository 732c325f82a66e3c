package apply

import (
	"strings"
	"time"

	"github.com/kubectl-converge/converge/shared/track"
)

// Phases and reasons of the decisions the applier reports beside lifecycle's (the typed
// fields of track.Event).
const (
	phasePreHooks  = "pre-hooks"
	phasePostHooks = "post-hooks"
	phaseApply     = "apply"
	phaseCleanup   = "cleanup"

	actionHook   = "hook"
	actionDelete = "delete"

	reasonHookEvent = "hook-event"
	reasonLeftChart = "left-chart"
	// reasonDeletePolicy prefixes werf.io/delete-policy's succeeded and failed.
	reasonDeletePolicy = "delete-policy-"
)

// act reports one decision carried out on one object, typed for scripts and the saved report
// (the stage lines say it in words for a whole group).
func (a *Applier) act(ref track.Ref, action, reason, phase, line string) {
	a.sink(track.Event{Type: track.EventTypeAction, Time: time.Now(), Elapsed: time.Since(a.start), Object: &ref, Action: action, Reason: reason, Phase: phase, Line: line})
}

// hookPhase is when hooks of helm.sh/hook events run: before the release's objects (pre-*)
// or after them.
func hookPhase(events string) string {
	if strings.HasPrefix(strings.TrimSpace(events), "post-") {
		return phasePostHooks
	}
	return phasePreHooks
}
