package lifecycle

import "slices"

// Mode is the operation an object is decided in.
type Mode string

const (
	ModeInstall   Mode = "install"
	ModeUpgrade   Mode = "upgrade"
	ModeRollback  Mode = "rollback"
	ModeUninstall Mode = "uninstall"
	// ModeDeploy is an install, upgrade or rollback whose objects are already chosen
	// (werf.io/deploy-on was applied when rendering): what the apply engine Helm calls back
	// into decides, hooks apart.
	ModeDeploy Mode = "deploy"
)

// Action is what an operation does to one object.
type Action string

const (
	// ActionCreate creates the object: the cluster has none.
	ActionCreate Action = "create"
	// ActionUpdate patches the live object to the chart's.
	ActionUpdate Action = "update"
	// ActionUnchanged is an update that changes nothing (a dry run said so).
	ActionUnchanged Action = "unchanged"
	// ActionAdopt patches another owner's live object and takes it over (--force-adoption).
	ActionAdopt Action = "adopt"
	// ActionRecreate deletes the live object, waits until it is gone, and creates it anew.
	ActionRecreate Action = "recreate"
	// ActionRefuse stops the operation: the object is to be recreated (the reason says why)
	// but is another release's (Owner), so it may not be deleted.
	ActionRefuse Action = "refuse"
	// ActionDelete deletes the live object and waits until it is gone.
	ActionDelete Action = "delete"
	// ActionKeep leaves the live object in the cluster though it leaves the release.
	ActionKeep Action = "keep"
	// ActionOrphan leaves the live object to the release that owns it now.
	ActionOrphan Action = "orphan"
	// ActionHandBack returns an object a failed run adopted to its previous owner.
	ActionHandBack Action = "hand-back"
	// ActionHook runs a hook in this operation (creates it again).
	ActionHook Action = "hook"
	// ActionHookSkipped is a hook of the chart that does not run in this operation.
	ActionHookSkipped Action = "hook-skipped"
	// ActionSkip is an object of the chart this operation does not deploy (werf.io/deploy-on).
	ActionSkip Action = "skip"
	// ActionNone is an object that left the chart and is already gone.
	ActionNone Action = "none"
)

// Changes says whether the action changes the cluster.
func (a Action) Changes() bool {
	switch a {
	case ActionCreate, ActionUpdate, ActionAdopt, ActionRecreate, ActionDelete, ActionHandBack:
		return true
	}
	return false
}

// Reason is why an object gets its action.
type Reason string

const (
	ReasonAbsent Reason = "absent"
	// ReasonPresent: the object is in the chart and in the cluster.
	ReasonPresent Reason = "present"
	// ReasonAdoptionForced: another owner's object, taken over with --force-adoption.
	ReasonAdoptionForced Reason = "adoption-forced"
	// ReasonBeforeCreation: werf.io/delete-policy: before-creation.
	ReasonBeforeCreation Reason = "delete-policy-before-creation"
	// ReasonImmutableField: an update changes an immutable field and the object is recreated
	// then (werf.io/delete-policy: before-creation-if-immutable, the default for Jobs).
	ReasonImmutableField Reason = "immutable-field"
	// ReasonTerminating: the live copy is being deleted; the object is created once it is gone.
	ReasonTerminating Reason = "terminating"
	// ReasonOwnedByAnotherRelease: the live object names another release in meta.helm.sh.
	ReasonOwnedByAnotherRelease Reason = "owned-by-another-release"
	// ReasonLeftChart: the object is in the previous revision, not in this one.
	ReasonLeftChart Reason = "left-chart"
	// ReasonUninstall: the release is uninstalled.
	ReasonUninstall Reason = "uninstall"
	// ReasonHelmResourcePolicy and ReasonWerfResourcePolicy: resource-policy: keep.
	ReasonHelmResourcePolicy Reason = "helm-resource-policy-keep"
	ReasonWerfResourcePolicy Reason = "werf-resource-policy-keep"
	// ReasonOwnershipAnyone: werf.io/ownership: anyone.
	ReasonOwnershipAnyone Reason = "ownership-anyone"
	// ReasonAdoptedInFailedRun: the failed run being rolled back adopted the object.
	ReasonAdoptedInFailedRun Reason = "adopted-in-failed-run"
	// ReasonHookEvent: the hook's helm.sh/hook names (or does not name) the operation.
	ReasonHookEvent Reason = "hook-event"
	// ReasonDeployOn: werf.io/deploy-on does not name the operation.
	ReasonDeployOn Reason = "deploy-on"
	// ReasonGone: the object is not in the cluster.
	ReasonGone Reason = "gone"
)

// Phase is when in the operation the action happens.
type Phase string

const (
	// PhasePreHooks: with the hooks before the release's objects (pre-install, pre-upgrade...).
	PhasePreHooks Phase = "pre-hooks"
	// PhaseApply: the release's objects, group by group (werf.io/weight).
	PhaseApply Phase = "apply"
	// PhaseCleanup: after the release's objects are ready, objects that left the chart.
	PhaseCleanup Phase = "cleanup"
	// PhasePostHooks: with the hooks after the release's objects.
	PhasePostHooks Phase = "post-hooks"
	// PhaseUninstall: the uninstall's deletions.
	PhaseUninstall Phase = "uninstall"
	// PhaseNever: the action changes nothing.
	PhaseNever Phase = "never"
)

// Live is what the cluster holds of an object.
type Live struct {
	Annotations map[string]string
	// Terminating: its deletionTimestamp is set.
	Terminating bool
}

// Input is everything one object's decision depends on.
type Input struct {
	Mode Mode
	// Release and Namespace are the release deciding.
	Release, Namespace string
	// Previous is the object in the release's previous revision (the revision an uninstall
	// removes), parsed; nil when it was not there.
	Previous *Lifecycle
	// Target is the object as this operation renders it, parsed; nil when the chart no
	// longer has it (or the release is uninstalled).
	Target *Lifecycle
	// Live is the object in the cluster; nil when absent.
	Live *Live
	// Hook says the object is one of the release's hooks: hooks carry no release metadata and
	// are the release's when they carry none.
	Hook bool
	// ImmutableFieldChanged: a dry run or the update itself was refused because it changes an
	// immutable field.
	ImmutableFieldChanged bool
	// Unchanged: a dry run found the live object already as the chart has it; false when
	// nobody asked.
	Unchanged bool
	// AdoptRun is set with --force-adoption: objects of other owners are taken over.
	AdoptRun string
	// HandBackRun, when set, returns the objects that run adopted to their previous owners
	// (the auto-rollback of a failed run).
	HandBackRun string
}

// Why says in words why the object gets its action, naming the annotation that decides it.
func (d Decision) Why() string {
	switch d.Reason {
	case ReasonBeforeCreation:
		return AnnotationDeletePolicy + ": " + string(DeletePolicyBeforeCreation)
	case ReasonImmutableField:
		return "an update changes an immutable field"
	case ReasonTerminating:
		return "its previous copy is still being deleted (deletionTimestamp set)"
	case ReasonOwnedByAnotherRelease:
		if d.Owner == "" {
			return "it belongs to no release"
		}
		return "it belongs to release " + d.Owner
	case ReasonHelmResourcePolicy, ReasonWerfResourcePolicy:
		return "it is annotated " + d.KeptBy + ": keep"
	case ReasonOwnershipAnyone:
		return "it is annotated " + AnnotationOwnership + ": " + string(OwnershipAnyone)
	case ReasonAdoptedInFailedRun:
		return "the failed run had adopted it"
	case ReasonDeployOn:
		return AnnotationDeployOn + " does not name this operation"
	case ReasonLeftChart:
		return "it left the chart"
	}
	return string(d.Reason)
}

// Decision is what happens to one object, why, and when.
type Decision struct {
	Action Action
	Reason Reason
	Phase  Phase
	// Owner is the live object's other owner, "RELEASE/NAMESPACE" (orphan, adopt, refuse),
	// or the owner it is handed back to (hand-back; "" for none).
	Owner string
	// KeptBy names the annotation that keeps the object (keep).
	KeptBy string
	// DeleteOnSucceeded and DeleteOnFailed delete the applied object once tracking found it
	// ready, or failed (werf.io/delete-policy: succeeded, failed).
	DeleteOnSucceeded, DeleteOnFailed bool
}

// DeployedIn says whether werf.io/deploy-on deploys the object in mode.
func (l *Lifecycle) DeployedIn(mode Mode) bool {
	return slices.Contains(l.DeployOn, Stage(mode))
}

// Decide is the one decision per object that the plan shows, the deploy executes and the
// uninstall follows: pure, from the previous revision, the target, the live object and their
// annotations.
func Decide(in Input) Decision {
	self := in.Release + "/" + in.Namespace
	if in.Target != nil && in.Mode != ModeUninstall {
		if h := in.Target.Hook; h != nil {
			phase := PhasePostHooks
			if slices.Contains(h.Events, "pre-"+string(in.Mode)) {
				phase = PhasePreHooks
			}
			if h.RunsIn(string(in.Mode)) {
				return Decision{Action: ActionHook, Reason: ReasonHookEvent, Phase: phase}
			}
			return Decision{Action: ActionHookSkipped, Reason: ReasonHookEvent, Phase: PhaseNever}
		}
		if in.Mode == ModeInstall || in.Mode == ModeUpgrade {
			if !in.Target.DeployedIn(in.Mode) {
				d := decideRemoval(in, self, PhaseCleanup)
				if d.Action == ActionDelete || d.Action == ActionNone {
					d.Reason = ReasonDeployOn
				}
				if in.Previous == nil {
					d = Decision{Action: ActionSkip, Reason: ReasonDeployOn, Phase: PhaseNever}
				}
				return d
			}
		}
		return decideApply(in, self)
	}
	phase := PhaseCleanup
	if in.Mode == ModeUninstall {
		phase = PhaseUninstall
	}
	return decideRemoval(in, self, phase)
}

// decideApply decides an object of the chart, and whether it is deleted after tracking.
func decideApply(in Input, self string) Decision {
	d := decideWrite(in, self)
	if d.Action != ActionRefuse {
		d.DeleteOnSucceeded, d.DeleteOnFailed = in.Target.DeleteOnSucceeded, in.Target.DeleteOnFailed
	}
	return d
}

// decideWrite decides how an object of the chart is written.
func decideWrite(in Input, self string) Decision {
	live := in.Live
	if live == nil {
		return Decision{Action: ActionCreate, Reason: ReasonAbsent, Phase: PhaseApply}
	}
	owner := Owner(live.Annotations)
	foreign := owner != "" && owner != self
	recreate := func(reason Reason) Decision {
		// Deleting to recreate obeys the ownership rules of deletion: another release's
		// object is not ours to delete (werf.io/ownership: anyone skips only the apply-time check).
		if foreign && in.AdoptRun == "" {
			return Decision{Action: ActionRefuse, Reason: reason, Phase: PhaseApply, Owner: owner}
		}
		return Decision{Action: ActionRecreate, Reason: reason, Phase: PhaseApply}
	}
	switch {
	case live.Terminating:
		return Decision{Action: ActionRecreate, Reason: ReasonTerminating, Phase: PhaseApply}
	case in.Target.RecreateAlways:
		return recreate(ReasonBeforeCreation)
	case in.ImmutableFieldChanged && in.Target.RecreateIfImmutable:
		return recreate(ReasonImmutableField)
	case in.AdoptRun != "" && owner != self:
		return Decision{Action: ActionAdopt, Reason: ReasonAdoptionForced, Phase: PhaseApply, Owner: owner}
	case in.Unchanged:
		return Decision{Action: ActionUnchanged, Reason: ReasonPresent, Phase: PhaseNever}
	}
	return Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}
}

// decideRemoval decides an object that leaves the release: it left the chart, or the release
// is uninstalled. Only what still carries this release's metadata is deleted (hooks: or none).
func decideRemoval(in Input, self string, phase Phase) Decision {
	if in.Live == nil {
		return Decision{Action: ActionNone, Reason: ReasonGone, Phase: PhaseNever}
	}
	ann := in.Live.Annotations
	reason := ReasonLeftChart
	if in.Mode == ModeUninstall {
		reason = ReasonUninstall
	}
	kept := KeptBy(ann)
	if kept == "" && in.Previous != nil {
		// The revision's own annotation counts too, as Helm's uninstall reads it there.
		kept = in.Previous.KeptBy
	}
	owner := Owner(ann)
	switch {
	case in.HandBackRun != "" && ann[AnnotationAdoptedInRun] == in.HandBackRun:
		return Decision{Action: ActionHandBack, Reason: ReasonAdoptedInFailedRun, Phase: phase, Owner: ann[AnnotationAdoptedFrom]}
	case kept == AnnotationHelmResourcePolicy:
		return Decision{Action: ActionKeep, Reason: ReasonHelmResourcePolicy, Phase: PhaseNever, KeptBy: kept}
	case kept == AnnotationWerfResourcePolicy:
		return Decision{Action: ActionKeep, Reason: ReasonWerfResourcePolicy, Phase: PhaseNever, KeptBy: kept}
	case OwnedByAnyone(ann):
		return Decision{Action: ActionKeep, Reason: ReasonOwnershipAnyone, Phase: PhaseNever, KeptBy: AnnotationOwnership}
	case owner == self, in.Hook && owner == "":
		return Decision{Action: ActionDelete, Reason: reason, Phase: phase}
	}
	return Decision{Action: ActionOrphan, Reason: ReasonOwnedByAnotherRelease, Phase: PhaseNever, Owner: owner}
}
