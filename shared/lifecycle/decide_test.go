package lifecycle

import (
	"testing"
)

func TestDecide(t *testing.T) {
	parse := func(kind string, ann map[string]string) *Lifecycle {
		t.Helper()
		l, err := Parse(kind, ann)
		if err != nil {
			t.Fatal(err)
		}
		return &l
	}
	cm := func(ann map[string]string) *Lifecycle { return parse("ConfigMap", ann) }
	job := func(ann map[string]string) *Lifecycle { return parse("Job", ann) }
	ours := map[string]string{"meta.helm.sh/release-name": "app", "meta.helm.sh/release-namespace": "ns"}
	theirs := map[string]string{"meta.helm.sh/release-name": "other", "meta.helm.sh/release-namespace": "ns"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	live := func(ann map[string]string) *Live { return &Live{Annotations: ann} }
	hook := func(events string, more ...string) *Lifecycle {
		return job(with(nil, append([]string{"helm.sh/hook", events}, more...)...))
	}
	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		// Objects of the chart.
		{"absent: create", Input{Mode: ModeInstall, Target: cm(nil)},
			Decision{Action: ActionCreate, Reason: ReasonAbsent, Phase: PhaseApply}},
		{"present: update", Input{Mode: ModeUpgrade, Previous: cm(nil), Target: cm(nil), Live: live(ours)},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},
		{"present, a dry run found nothing to change: unchanged", Input{Mode: ModeUpgrade, Target: cm(nil), Live: live(ours), Unchanged: true},
			Decision{Action: ActionUnchanged, Reason: ReasonPresent, Phase: PhaseNever}},
		{"rollback updates too", Input{Mode: ModeRollback, Target: cm(nil), Live: live(ours)},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},
		{"terminating copy: recreate once gone", Input{Mode: ModeUpgrade, Target: cm(nil), Live: &Live{Annotations: ours, Terminating: true}},
			Decision{Action: ActionRecreate, Reason: ReasonTerminating, Phase: PhaseApply}},
		{"werf.io/delete-policy: before-creation: recreate", Input{Mode: ModeUpgrade, Target: cm(map[string]string{"werf.io/delete-policy": "before-creation"}), Live: live(ours)},
			Decision{Action: ActionRecreate, Reason: ReasonBeforeCreation, Phase: PhaseApply}},
		{"before-creation, absent: create", Input{Mode: ModeUpgrade, Target: cm(map[string]string{"werf.io/delete-policy": "before-creation"})},
			Decision{Action: ActionCreate, Reason: ReasonAbsent, Phase: PhaseApply}},
		{"before-creation of another release's object: refused", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(map[string]string{"werf.io/delete-policy": "before-creation", "werf.io/ownership": "anyone"}), Live: live(theirs)},
			Decision{Action: ActionRefuse, Reason: ReasonBeforeCreation, Phase: PhaseApply, Owner: "other/ns"}},
		{"immutable field of another release's Job: refused", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: job(nil), Live: live(theirs), ImmutableFieldChanged: true},
			Decision{Action: ActionRefuse, Reason: ReasonImmutableField, Phase: PhaseApply, Owner: "other/ns"}},
		{"before-creation of another release's object, adoption forced: recreate", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(map[string]string{"werf.io/delete-policy": "before-creation"}), Live: live(theirs), AdoptRun: "run1"},
			Decision{Action: ActionRecreate, Reason: ReasonBeforeCreation, Phase: PhaseApply}},
		{"Job, immutable field changed: recreate", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: job(nil), Live: live(ours), ImmutableFieldChanged: true},
			Decision{Action: ActionRecreate, Reason: ReasonImmutableField, Phase: PhaseApply}},
		{"before-creation-if-immutable, immutable field changed: recreate", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(map[string]string{"werf.io/delete-policy": "before-creation-if-immutable"}), Live: live(ours), ImmutableFieldChanged: true},
			Decision{Action: ActionRecreate, Reason: ReasonImmutableField, Phase: PhaseApply}},
		{"ConfigMap, immutable field changed: update (and fail)", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(nil), Live: live(ours), ImmutableFieldChanged: true},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},
		{"Job with another delete policy, immutable field changed: update (and fail)", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: job(map[string]string{"werf.io/delete-policy": "succeeded"}), Live: live(ours), ImmutableFieldChanged: true},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply, DeleteOnSucceeded: true}},
		{"werf.io/delete-policy: succeeded, failed: created, deleted after tracking", Input{Mode: ModeInstall, Target: job(map[string]string{"werf.io/delete-policy": "succeeded,failed"})},
			Decision{Action: ActionCreate, Reason: ReasonAbsent, Phase: PhaseApply, DeleteOnSucceeded: true, DeleteOnFailed: true}},
		{"werf.io/delete-policy: before-creation, failed: recreated, deleted if it fails", Input{Mode: ModeUpgrade, Target: job(map[string]string{"werf.io/delete-policy": "before-creation,failed"}), Live: live(ours)},
			Decision{Action: ActionRecreate, Reason: ReasonBeforeCreation, Phase: PhaseApply, DeleteOnFailed: true}},
		{"another owner's object, adoption forced: adopt", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(nil), Live: live(theirs), AdoptRun: "run1"},
			Decision{Action: ActionAdopt, Reason: ReasonAdoptionForced, Phase: PhaseApply, Owner: "other/ns"}},
		{"nobody's object, adoption forced: adopt", Input{Mode: ModeInstall, Release: "app", Namespace: "ns", Target: cm(nil), Live: live(nil), AdoptRun: "run1"},
			Decision{Action: ActionAdopt, Reason: ReasonAdoptionForced, Phase: PhaseApply}},
		{"our object, adoption forced: update", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(nil), Live: live(ours), AdoptRun: "run1"},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},
		{"ownership anyone, another owner's object: update", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Target: cm(map[string]string{"werf.io/ownership": "anyone"}), Live: live(theirs)},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},

		// werf.io/deploy-on.
		{"deploy-on install, on install: create", Input{Mode: ModeInstall, Target: cm(map[string]string{"werf.io/deploy-on": "install"})},
			Decision{Action: ActionCreate, Reason: ReasonAbsent, Phase: PhaseApply}},
		{"deploy-on install, new on upgrade: skip", Input{Mode: ModeUpgrade, Target: cm(map[string]string{"werf.io/deploy-on": "install"})},
			Decision{Action: ActionSkip, Reason: ReasonDeployOn, Phase: PhaseNever}},
		{"deploy-on install, installed before, on upgrade: it leaves the release", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(map[string]string{"werf.io/deploy-on": "install"}), Target: cm(map[string]string{"werf.io/deploy-on": "install"}), Live: live(ours)},
			Decision{Action: ActionDelete, Reason: ReasonDeployOn, Phase: PhaseCleanup}},
		{"deploy-on install with ownership anyone, on upgrade: kept", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Target: cm(map[string]string{"werf.io/deploy-on": "install", "werf.io/ownership": "anyone"}), Live: live(map[string]string{"werf.io/ownership": "anyone"})},
			Decision{Action: ActionKeep, Reason: ReasonOwnershipAnyone, Phase: PhaseNever, KeptBy: "werf.io/ownership"}},
		{"deploy-on upgrade, on a rollback: deployed (the revision decides)", Input{Mode: ModeRollback, Target: cm(map[string]string{"werf.io/deploy-on": "upgrade"}), Live: live(ours)},
			Decision{Action: ActionUpdate, Reason: ReasonPresent, Phase: PhaseApply}},

		// Hooks.
		{"pre-install hook on install: runs before", Input{Mode: ModeInstall, Target: hook("pre-install,post-upgrade")},
			Decision{Action: ActionHook, Reason: ReasonHookEvent, Phase: PhasePreHooks}},
		{"post-upgrade hook on upgrade: runs after", Input{Mode: ModeUpgrade, Target: hook("pre-install,post-upgrade")},
			Decision{Action: ActionHook, Reason: ReasonHookEvent, Phase: PhasePostHooks}},
		{"install hook on upgrade: skipped", Input{Mode: ModeUpgrade, Target: hook("pre-install", "werf.io/delete-policy", "succeeded")},
			Decision{Action: ActionHookSkipped, Reason: ReasonHookEvent, Phase: PhaseNever}},
		{"test hook: skipped", Input{Mode: ModeInstall, Target: hook("test")},
			Decision{Action: ActionHookSkipped, Reason: ReasonHookEvent, Phase: PhaseNever}},
		{"pre-rollback hook on rollback: runs", Input{Mode: ModeRollback, Target: hook("pre-rollback")},
			Decision{Action: ActionHook, Reason: ReasonHookEvent, Phase: PhasePreHooks}},

		// Objects that left the chart.
		{"left the chart, ours: delete", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(ours)},
			Decision{Action: ActionDelete, Reason: ReasonLeftChart, Phase: PhaseCleanup}},
		{"left the chart, gone: nothing", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil)},
			Decision{Action: ActionNone, Reason: ReasonGone, Phase: PhaseNever}},
		{"left the chart, helm.sh/resource-policy: keep live", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(with(ours, "helm.sh/resource-policy", "keep"))},
			Decision{Action: ActionKeep, Reason: ReasonHelmResourcePolicy, Phase: PhaseNever, KeptBy: "helm.sh/resource-policy"}},
		{"left the chart, werf.io/resource-policy: keep live", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(with(ours, "werf.io/resource-policy", "keep"))},
			Decision{Action: ActionKeep, Reason: ReasonWerfResourcePolicy, Phase: PhaseNever, KeptBy: "werf.io/resource-policy"}},
		{"left the chart, keep in the revision only", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(map[string]string{"werf.io/resource-policy": "keep"}), Live: live(ours)},
			Decision{Action: ActionKeep, Reason: ReasonWerfResourcePolicy, Phase: PhaseNever, KeptBy: "werf.io/resource-policy"}},
		{"left the chart, ownership anyone", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(map[string]string{"werf.io/ownership": "anyone"})},
			Decision{Action: ActionKeep, Reason: ReasonOwnershipAnyone, Phase: PhaseNever, KeptBy: "werf.io/ownership"}},
		{"left the chart, another release's now: orphan", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(theirs)},
			Decision{Action: ActionOrphan, Reason: ReasonOwnedByAnotherRelease, Phase: PhaseNever, Owner: "other/ns"}},
		{"left the chart, nobody's now: orphan", Input{Mode: ModeUpgrade, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(nil)},
			Decision{Action: ActionOrphan, Reason: ReasonOwnedByAnotherRelease, Phase: PhaseNever}},
		{"left the chart, adopted by the failed run: hand back", Input{Mode: ModeRollback, Release: "app", Namespace: "ns", Previous: cm(nil), HandBackRun: "run1",
			Live: live(with(ours, "kubectl-converge.io/adopted-in-run", "run1", "kubectl-converge.io/adopted-from", "other/ns"))},
			Decision{Action: ActionHandBack, Reason: ReasonAdoptedInFailedRun, Phase: PhaseCleanup, Owner: "other/ns"}},
		{"left the chart, adopted by another run: delete", Input{Mode: ModeRollback, Release: "app", Namespace: "ns", Previous: cm(nil), HandBackRun: "run2",
			Live: live(with(ours, "kubectl-converge.io/adopted-in-run", "run1", "kubectl-converge.io/adopted-from", "other/ns"))},
			Decision{Action: ActionDelete, Reason: ReasonLeftChart, Phase: PhaseCleanup}},

		// Uninstall.
		{"uninstall, ours: delete", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(ours)},
			Decision{Action: ActionDelete, Reason: ReasonUninstall, Phase: PhaseUninstall}},
		{"uninstall, the target is ignored", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), Target: cm(nil), Live: live(ours)},
			Decision{Action: ActionDelete, Reason: ReasonUninstall, Phase: PhaseUninstall}},
		{"uninstall, helm keep live", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(with(ours, "helm.sh/resource-policy", "keep"))},
			Decision{Action: ActionKeep, Reason: ReasonHelmResourcePolicy, Phase: PhaseNever, KeptBy: "helm.sh/resource-policy"}},
		{"uninstall, helm keep in the revision", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(map[string]string{"helm.sh/resource-policy": "keep"}), Live: live(ours)},
			Decision{Action: ActionKeep, Reason: ReasonHelmResourcePolicy, Phase: PhaseNever, KeptBy: "helm.sh/resource-policy"}},
		{"uninstall, ownership anyone", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(map[string]string{"werf.io/ownership": "anyone"})},
			Decision{Action: ActionKeep, Reason: ReasonOwnershipAnyone, Phase: PhaseNever, KeptBy: "werf.io/ownership"}},
		{"uninstall, another release's: orphan", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), Live: live(theirs)},
			Decision{Action: ActionOrphan, Reason: ReasonOwnedByAnotherRelease, Phase: PhaseNever, Owner: "other/ns"}},
		{"uninstall, a hook without release metadata: delete", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Hook: true, Previous: hook("pre-install"), Live: live(nil)},
			Decision{Action: ActionDelete, Reason: ReasonUninstall, Phase: PhaseUninstall}},
		{"uninstall, a hook another release took over: orphan", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Hook: true, Previous: hook("pre-install"), Live: live(theirs)},
			Decision{Action: ActionOrphan, Reason: ReasonOwnedByAnotherRelease, Phase: PhaseNever, Owner: "other/ns"}},
		{"uninstall, a hook with helm keep", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Hook: true, Previous: hook("pre-install"), Live: live(map[string]string{"helm.sh/resource-policy": "keep"})},
			Decision{Action: ActionKeep, Reason: ReasonHelmResourcePolicy, Phase: PhaseNever, KeptBy: "helm.sh/resource-policy"}},
		{"uninstall of a failed run's rollback, adopted: hand back to nobody", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil), HandBackRun: "run1",
			Live: live(with(ours, "kubectl-converge.io/adopted-in-run", "run1"))},
			Decision{Action: ActionHandBack, Reason: ReasonAdoptedInFailedRun, Phase: PhaseUninstall}},
		{"uninstall, gone", Input{Mode: ModeUninstall, Release: "app", Namespace: "ns", Previous: cm(nil)},
			Decision{Action: ActionNone, Reason: ReasonGone, Phase: PhaseNever}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.Release == "" {
				tt.in.Release, tt.in.Namespace = "app", "ns"
			}
			if got := Decide(tt.in); got != tt.want {
				t.Fatalf("Decide:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
