package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/apply"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
)

// A plan covers the whole release: the chart's CRDs (applied first), its objects and its
// hooks. Its digest covers all three, and --use-plan checks it against a new render before
// anything, CRDs included, is applied.

// PlanDigests identify the three parts of what a plan reviewed, each computed as planDigest
// (sensitive values masked): the rendered manifest, the hooks, the CRDs.
type PlanDigests struct {
	Manifest string `json:"manifest"`
	Hooks    string `json:"hooks"`
	CRDs     string `json:"crds"`
}

// total is the plan's digest: one value over the three parts.
func (d PlanDigests) total() string {
	sum := sha256.Sum256([]byte("manifest " + d.Manifest + "\nhooks " + d.Hooks + "\ncrds " + d.CRDs + "\n"))
	return "masked-sha256:" + hex.EncodeToString(sum[:])
}

// HookContent says how a hook compares with the same hook of the release's newest revision.
type HookContent string

const (
	// HookContentNew is a hook the newest revision does not have (or there is none).
	HookContentNew HookContent = "new"
	// HookContentChanged is a hook whose content differs from the newest revision's.
	HookContentChanged HookContent = "changed"
	// HookContentUnchanged is a hook the newest revision has as it is.
	HookContentUnchanged HookContent = "unchanged"
)

// planRender renders the release as a plan and a converge with --use-plan do (a server-side
// dry run of the very install or upgrade) and computes the digests of its three parts.
func planRender(ctx context.Context, client *helmsdk.Client, p *inputs.Prepared, forceAdoption bool) (*helmsdk.Preview, PlanDigests, error) {
	var d PlanDigests
	digest := planDigest(client)
	pv, err := client.Preview(ctx, helmsdk.UpgradeRequest{ReleaseName: p.ReleaseName, Chart: p.Chart, Values: p.Values, Description: p.Description(), Digest: digest, ForceAdoption: forceAdoption})
	if err != nil {
		return nil, d, err
	}
	d.Manifest = pv.Digest
	if d.Hooks, err = digest(helmsdk.HooksManifest(pv.Release.Hooks)); err != nil {
		return nil, d, fmt.Errorf("digest of the hooks: %w", err)
	}
	if d.CRDs, err = digest([]byte(helmsdk.CRDManifests(p.Chart))); err != nil {
		return nil, d, fmt.Errorf("digest of the CRDs: %w", err)
	}
	return pv, d, nil
}

// verifyPlanRender refuses a plan whose manifest, hooks or CRDs render otherwise now, before
// anything is applied: the CRDs go first, and Helm's post-renderer (where the manifest is
// checked again as it is deployed) never sees hooks.
func verifyPlanRender(ctx context.Context, client *helmsdk.Client, p *inputs.Prepared, plan *Plan, forceAdoption bool) error {
	if plan.Digests.Manifest == "" {
		return exitcode.Usage("--use-plan: the plan was saved by an earlier version, without the digests of its hooks and CRDs: make a new plan")
	}
	_, now, err := planRender(ctx, client, p, forceAdoption)
	if err != nil {
		return err
	}
	var moved []string
	if now.CRDs != plan.Digests.CRDs {
		moved = append(moved, "CRDs")
	}
	if now.Manifest != plan.Digests.Manifest {
		moved = append(moved, "manifests")
	}
	if now.Hooks != plan.Digests.Hooks {
		moved = append(moved, "hooks")
	}
	if len(moved) == 0 && now.total() != plan.Digest {
		moved = append(moved, "manifests")
	}
	if len(moved) > 0 {
		return fmt.Errorf("%w: the chart renders other %s than the plan reviewed (the chart, values, images or the cluster's lookups changed since); nothing was applied: make a new plan", helmsdk.ErrPlanOutdated, strings.Join(moved, " and "))
	}
	return nil
}

// planCRDs adds the chart's CRDs to the plan, as ApplyCRDs would treat them: created,
// updated (with the diff of a server-side dry run) or unchanged.
func planCRDs(ctx context.Context, client *helmsdk.Client, p *inputs.Prepared, plan *Plan, opts PlanOptions) error {
	crds, err := client.PlanCRDs(ctx, p.Chart)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		t, err := apply.TargetOf(crd.Object)
		if err != nil {
			return err
		}
		c := Change{Object: t.Ref, Action: ActionCreate, CRD: true}
		var live map[string]any
		if crd.Live != nil {
			live = crd.Live.Object
			c.LiveDigest = liveDigest(crd.Live)
			c.Action = ActionUpdate
			if crd.Unchanged {
				c.Action = ActionUnchanged
			}
		}
		if c.Action != ActionUnchanged {
			if c.Diff, err = objectDiff(live, crd.Desired.Object, opts.Diff); err != nil {
				return fmt.Errorf("%s: %w", t.Ref, err)
			}
			if c.Action == ActionUpdate && c.Diff == "" {
				// The apply would change nothing (another manager wrote fields of its own
				// since): ApplyCRDs reports it unchanged too.
				c.Action = ActionUnchanged
			}
		}
		plan.add(c)
	}
	return nil
}

// planHooks adds the release's hooks to the plan: when each runs, its delete policies, and
// its content as a diff from the same hook of the newest revision (all of it when new).
func planHooks(client *helmsdk.Client, pv *helmsdk.Preview, plan *Plan, opts PlanOptions) error {
	previous := map[string]*resource.Info{}
	if pv.Current != nil {
		for _, hook := range pv.Current.Hooks {
			infos, err := client.Objects(hook)
			if err != nil {
				return fmt.Errorf("read the hooks of revision %d: %w", pv.Current.Revision, err)
			}
			for _, info := range infos {
				previous[apply.InfoKey(info)] = info
			}
		}
	}
	// A hook's old side is the newest revision's hook: its live copy is deleted and created
	// again (before-hook-creation), or gone (hook-succeeded).
	opts.Diff.From = "hook of revision 0"
	if pv.Current != nil {
		opts.Diff.From = fmt.Sprintf("hook of revision %d", pv.Current.Revision)
	}
	operation := "upgrade"
	if pv.Install {
		operation = "install"
	}
	for _, hook := range pv.Release.Hooks {
		hooks, err := client.Objects(hook)
		if err != nil {
			return err
		}
		for _, info := range hooks {
			t, err := apply.TargetOf(info)
			if err != nil {
				return err
			}
			l, err := parsed(t.Ref, info)
			if err != nil {
				return err
			}
			d := lifecycle.Decide(lifecycle.Input{Mode: lifecycle.Mode(operation), Release: plan.Release, Namespace: plan.Namespace, Target: l})
			hp := planHook(l.Hook, operation)
			c := Change{Action: d.Action, Reason: d.Reason, Phase: d.Phase, Object: t.Ref, Hook: hp}
			var before map[string]any
			hp.Content = HookContentNew
			if prev := previous[apply.InfoKey(info)]; prev != nil {
				if u, ok := prev.Object.(*unstructured.Unstructured); ok {
					before = u.Object
				}
			}
			after := map[string]any{}
			if u, ok := info.Object.(*unstructured.Unstructured); ok {
				after = u.Object
			}
			if c.Diff, err = objectDiff(before, after, opts.Diff); err != nil {
				return fmt.Errorf("%s: %w", t.Ref, err)
			}
			if before != nil {
				hp.Content = HookContentChanged
				if c.Diff == "" {
					hp.Content = HookContentUnchanged
				}
			}
			plan.add(c)
		}
	}
	return nil
}
