package apply

import (
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-converge/converge/shared/lifecycle"
	"github.com/kubectl-converge/converge/shared/track"
)

// reasonDeletePolicy prefixes werf.io/delete-policy's succeeded and failed, the reasons of
// the deletions a hook's or an object's result triggers.
const reasonDeletePolicy = "delete-policy-"

// act reports the decision d carried out on one object, typed for scripts and the saved
// report (the stage lines say it in words for a whole group).
func (a *Applier) act(ref track.Ref, d lifecycle.Decision, line string) {
	a.sink(track.Event{Type: track.EventTypeAction, Time: time.Now(), Elapsed: time.Since(a.start), Object: &ref,
		Action: string(d.Action), Reason: string(d.Reason), Phase: string(d.Phase), Line: line})
}

// actLine is the line of a decision carried out: "create cm/x", "recreate job/y: why".
func actLine(ref track.Ref, d lifecycle.Decision) string {
	switch d.Action {
	case lifecycle.ActionCreate, lifecycle.ActionUpdate:
		return fmt.Sprintf("%s %s", d.Action, ref)
	}
	return fmt.Sprintf("%s %s: %s", d.Action, ref, d.Why())
}

// hookPhase is when hooks of helm.sh/hook events run: before the release's objects (pre-*)
// or after them.
func hookPhase(events string) lifecycle.Phase {
	if strings.HasPrefix(strings.TrimSpace(events), "post-") {
		return lifecycle.PhasePostHooks
	}
	return lifecycle.PhasePreHooks
}
