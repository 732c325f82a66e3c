package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/apply"
	"github.com/kubectl-converge/converge/shared/diff"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track"
)

// Action is what a converge would do to one object: lifecycle.Decide's.
type Action = lifecycle.Action

// The actions a plan shows.
const (
	ActionCreate      = lifecycle.ActionCreate
	ActionUpdate      = lifecycle.ActionUpdate
	ActionRecreate    = lifecycle.ActionRecreate
	ActionUnchanged   = lifecycle.ActionUnchanged
	ActionDelete      = lifecycle.ActionDelete
	ActionKeep        = lifecycle.ActionKeep
	ActionOrphan      = lifecycle.ActionOrphan
	ActionHook        = lifecycle.ActionHook
	ActionHookSkipped = lifecycle.ActionHookSkipped
	ActionAdopt       = lifecycle.ActionAdopt
	ActionRefuse      = lifecycle.ActionRefuse
)

// HookPlan says when a hook runs and how it is cleaned up.
type HookPlan struct {
	// Events are its helm.sh/hook events (pre-install, post-upgrade, test...).
	Events []string `json:"events"`
	// Weight is its werf.io/weight, else its helm.sh/hook-weight.
	Weight int `json:"weight"`
	// DeletePolicies are Helm's delete policies as stored: werf.io/delete-policy's, then
	// helm.sh/hook-delete-policy's (Helm's default: before-hook-creation).
	DeletePolicies []string `json:"deletePolicies"`
	// Runs says whether it runs in the planned operation.
	Runs bool `json:"runs"`
	// Operation is the planned operation: install or upgrade.
	Operation string `json:"operation"`
	// Content compares it with the same hook of the release's newest revision; the change's
	// diff shows the difference (the whole hook when new).
	Content HookContent `json:"content"`
}

// Change is the plan for one object.
type Change struct {
	Action Action    `json:"action"`
	Object track.Ref `json:"object"`
	// Reason and Phase are why and when (lifecycle.Decide); Why says the reason in words
	// when the action alone does not.
	Reason lifecycle.Reason `json:"reason,omitempty"`
	Phase  lifecycle.Phase  `json:"phase,omitempty"`
	Why    string           `json:"why,omitempty"`
	// DeleteOn are the outcomes of tracking after which the applied object is deleted
	// (werf.io/delete-policy: succeeded, failed).
	DeleteOn []lifecycle.DeletePolicy `json:"deleteOn,omitempty"`
	// Diff is the unified diff from the live object to the planned one, noise and sensitive
	// values hidden as the options say.
	Diff string `json:"diff,omitempty"`
	// LiveDigest identifies the live object when the plan was made ("" when absent), so that
	// applying the plan can refuse a cluster that moved.
	LiveDigest string `json:"liveDigest,omitempty"`
	// Hook is set for hooks.
	Hook *HookPlan `json:"hook,omitempty"`
	// CRD says the object is a CRD of the chart's crds/, applied before everything else.
	CRD bool `json:"crd,omitempty"`
}

// Plan is what a converge of a prepared release would change.
type Plan struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	// Revision is the release's newest revision when the plan was made; zero for an install.
	Revision int `json:"revision"`
	// Digest identifies what the plan reviewed (the rendered manifest, the hooks and the
	// CRDs: Digests) without their sensitive values (planDigest), so that a saved plan lets
	// nobody test a guess of a secret offline.
	Digest string `json:"digest"`
	// Digests are the digests of the three parts Digest covers.
	Digests PlanDigests `json:"digests"`
	// LegacyDigestKey is the digest key plans of earlier versions carried beside the digest;
	// such plans are refused.
	LegacyDigestKey string         `json:"digestKey,omitempty"`
	Changes         []Change       `json:"changes"`
	Summary         map[Action]int `json:"summary"`
}

// HasChanges reports whether applying the plan would change anything in the cluster.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action.Changes() {
			return true
		}
		// A hook that runs with other content than the last revision's changes what runs.
		if c.Hook != nil && c.Hook.Runs && c.Hook.Content != HookContentUnchanged {
			return true
		}
	}
	return p.Revision == 0
}

// PlanOptions tune a plan.
type PlanOptions struct {
	Diff diff.Options
	// KeepManualChanges plans with --no-remove-manual-changes.
	KeepManualChanges bool
	// ForceAdoption plans as --force-adoption converges: objects of other owners are shown
	// taken over (adopt); zero: Helm refuses new objects another owner has.
	ForceAdoption bool
}

// MakePlan renders the release as a converge would and compares every object with the
// cluster: desired states come from server-side dry runs of the very requests a converge
// sends (defaults and admission included), objects that left the chart are listed.
func MakePlan(ctx context.Context, client *helmsdk.Client, p *inputs.Prepared, opts PlanOptions) (*Plan, error) {
	pv, digests, err := planRender(ctx, client, p, opts.ForceAdoption)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Release: p.ReleaseName, Namespace: p.Namespace, Digest: digests.total(), Digests: digests, Summary: map[Action]int{}}
	if err := planCRDs(ctx, client, p, plan, opts); err != nil {
		return nil, err
	}
	var previous []*resource.Info
	if pv.Current != nil {
		plan.Revision = pv.Current.Revision
		if previous, err = client.Objects(pv.Current.Manifest); err != nil {
			return nil, fmt.Errorf("read revision %d of release %q: %w", pv.Current.Revision, p.ReleaseName, err)
		}
	}
	target, err := client.Objects(pv.Release.Manifest)
	if err != nil {
		return nil, err
	}
	prev := map[string]*resource.Info{}
	for _, info := range previous {
		prev[apply.InfoKey(info)] = info
	}
	decide := lifecycle.Input{Mode: lifecycle.ModeUpgrade, Release: p.ReleaseName, Namespace: p.Namespace}
	if pv.Install {
		decide.Mode = lifecycle.ModeInstall
	}
	if opts.ForceAdoption {
		decide.AdoptRun = "plan"
	}
	wanted := map[string]bool{}
	for _, info := range target {
		wanted[apply.InfoKey(info)] = true
		if u, ok := info.Object.(*unstructured.Unstructured); ok && !lifecycle.OwnedByAnyone(u.GetAnnotations()) {
			setOwnership(u, p.ReleaseName, p.Namespace)
		}
		c, err := planObject(decide, prev[apply.InfoKey(info)], info, opts)
		if err != nil {
			return nil, err
		}
		plan.add(c)
	}
	for _, info := range previous {
		if wanted[apply.InfoKey(info)] {
			continue
		}
		c, err := planRemoval(decide, info, opts)
		if err != nil {
			return nil, err
		}
		if c != nil {
			plan.add(*c)
		}
	}
	if err := planHooks(client, pv, plan, opts); err != nil {
		return nil, err
	}
	return plan, nil
}

// planHook says when a hook runs and how it is cleaned up, as the stored revision will have it
// (lifecycle.Hook): Helm runs pre-/post-<operation> hooks; test hooks only with helm test.
func planHook(h *lifecycle.Hook, operation string) *HookPlan {
	hp := &HookPlan{Operation: operation}
	if h != nil {
		hp.Events, hp.Weight, hp.DeletePolicies, hp.Runs = h.Events, h.Weight, h.DeletePolicies, h.RunsIn(operation)
	}
	return hp
}

// setOwnership adds the metadata Helm gives every object of a release when it applies it.
func setOwnership(u *unstructured.Unstructured, release, namespace string) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["app.kubernetes.io/managed-by"] = "Helm"
	u.SetLabels(labels)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[lifecycle.AnnotationReleaseName], ann[lifecycle.AnnotationReleaseNamespace] = release, namespace
	u.SetAnnotations(ann)
}

func (p *Plan) add(c Change) {
	p.Changes = append(p.Changes, c)
	p.Summary[c.Action]++
}

// parsed is lifecycle.Parse of an object; a plan refuses an invalid annotation.
func parsed(ref track.Ref, info *resource.Info) (*lifecycle.Lifecycle, error) {
	u, ok := info.Object.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("%s: unexpected object type %T", ref, info.Object)
	}
	l, err := lifecycle.Parse(u.GetKind(), u.GetAnnotations())
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: %w", ref, err))
	}
	return &l, nil
}

// liveState is what lifecycle.Decide needs of a live object.
func liveState(live *unstructured.Unstructured) *lifecycle.Live {
	if live == nil {
		return nil
	}
	return &lifecycle.Live{Annotations: live.GetAnnotations(), Terminating: live.GetDeletionTimestamp() != nil}
}

// planObject decides one object of the chart (lifecycle.Decide, as the deploy does) and
// shows its diff from the cluster: the desired state is a server-side dry run of the request
// the deploy sends.
func planObject(in lifecycle.Input, previous, info *resource.Info, opts PlanOptions) (Change, error) {
	t, err := apply.TargetOf(info)
	if err != nil {
		return Change{}, err
	}
	c := Change{Object: t.Ref}
	u := info.Object.(*unstructured.Unstructured)
	if in.Target, err = parsed(t.Ref, info); err != nil {
		return c, err
	}
	if previous != nil {
		if in.Previous, err = parsed(t.Ref, previous); err != nil {
			return c, err
		}
	}
	live, err := helmsdk.Live(info)
	if err != nil {
		return c, fmt.Errorf("read %s: %w", t.Ref, err)
	}
	registerLiveSecret(live)
	in.Live = liveState(live)
	d := lifecycle.Decide(in)
	previous, err = apply.PrepareForApply(u, previous, *in.Target, live != nil && !in.Live.Terminating)
	if err != nil {
		return c, err
	}
	desired := u
	if d.Action != lifecycle.ActionRecreate && d.Action != lifecycle.ActionRefuse {
		// A recreated object is created as rendered; the others are dry-run.
		desired, err = helmsdk.DryRunApply(previous, info, live, opts.KeepManualChanges)
		if err != nil && live != nil && strings.Contains(err.Error(), "field is immutable") {
			in.ImmutableFieldChanged = true
			if again := lifecycle.Decide(in); again.Action == lifecycle.ActionRecreate || again.Action == lifecycle.ActionRefuse {
				d, desired, err = again, u, nil
			}
		}
		if err != nil && live == nil && apierrors.IsNotFound(err) {
			// The namespace does not exist yet (converge creates it): the API server cannot
			// dry-run objects in it, the rendered object is all there is to show.
			desired, err = u, nil
		}
		if err != nil {
			return c, fmt.Errorf("dry-run apply %s: %w", t.Ref, err)
		}
	}
	var liveObject map[string]any
	if live != nil {
		liveObject = live.Object
		c.LiveDigest = planLiveDigest(live, u.Object)
	}
	c.Diff, err = objectDiff(liveObject, desired.Object, opts.Diff)
	if err != nil {
		return c, fmt.Errorf("%s: %w", t.Ref, err)
	}
	if d.Action == lifecycle.ActionUpdate && c.Diff == "" {
		in.Unchanged = true
		d = lifecycle.Decide(in)
	}
	c.Action, c.Reason, c.Phase = d.Action, d.Reason, d.Phase
	if d.DeleteOnSucceeded {
		c.DeleteOn = append(c.DeleteOn, lifecycle.DeletePolicySucceeded)
	}
	if d.DeleteOnFailed {
		c.DeleteOn = append(c.DeleteOn, lifecycle.DeletePolicyFailed)
	}
	if d.Action == lifecycle.ActionRecreate || d.Action == lifecycle.ActionRefuse || d.Action == lifecycle.ActionAdopt {
		c.Why = d.Why()
	}
	return c, nil
}

// planRemoval decides an object that left the chart (lifecycle.Decide, as the deploy does);
// nil when it is gone.
func planRemoval(in lifecycle.Input, info *resource.Info, opts PlanOptions) (*Change, error) {
	t, err := apply.TargetOf(info)
	if err != nil {
		return nil, err
	}
	if in.Previous, err = parsed(t.Ref, info); err != nil {
		return nil, err
	}
	live, err := helmsdk.Live(info)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Ref, err)
	}
	registerLiveSecret(live)
	in.Live = liveState(live)
	d := lifecycle.Decide(in)
	if d.Action == lifecycle.ActionNone {
		return nil, nil
	}
	c := &Change{Object: t.Ref, Action: d.Action, Reason: d.Reason, Phase: d.Phase, LiveDigest: liveDigest(live)}
	if d.Reason != lifecycle.ReasonLeftChart {
		c.Why = d.Why()
	}
	if d.Action == lifecycle.ActionDelete {
		if c.Diff, err = objectDiff(live.Object, nil, opts.Diff); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func objectDiff(live, planned map[string]any, opts diff.Options) (string, error) {
	l, p := diff.Normalize(live, opts), diff.Normalize(planned, opts)
	if err := diff.Mask(l, p, opts); err != nil {
		return "", err
	}
	return diff.Unified(l, p, opts)
}

// planDigest identifies rendered manifests for a plan without letting anyone who holds the
// saved plan test a guess of a secret offline. Each object is hashed (sha256) as rendered
// with its sensitive values (diff.Mask: a Secret's data and stringData, the paths of
// werf.io/sensitive-paths, objects with werf.io/sensitive) and every string holding a
// registered secret (a decrypted secret value rendered into a ConfigMap or an env) replaced
// by whether they equal the live object's: no key exists to keep or leak, and the secrets
// are checked against the cluster. --use-plan first makes sure no live object moved since the plan (sensitive ones
// by resourceVersion, see liveDigest), then recomputes this digest from the new render: a
// changed non-secret field, a secret that changed or stopped changing against the live
// object is refused. A secret that the plan already changed, changed again to yet another
// value, is not seen (its value is what no plan file may hold).
func planDigest(client *helmsdk.Client) func([]byte) (string, error) {
	return func(manifests []byte) (string, error) {
		infos, err := client.Objects(string(manifests))
		if err != nil {
			return "", err
		}
		var objects [][2]map[string]any
		for _, info := range infos {
			u, ok := info.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			live, err := helmsdk.Live(info)
			if err != nil {
				return "", err
			}
			var liveObject map[string]any
			if live != nil {
				liveObject = live.Object
			}
			// Every live Secret is known before anything is hashed, in the plan's run as in
			// the converge's, so that both mask the same values.
			registerLiveSecret(live)
			objects = append(objects, [2]map[string]any{u.Object, liveObject})
		}
		return maskedDigest(objects)
	}
}

// maskedDigest is planDigest of objects, each its rendered and its live form (nil: none).
func maskedDigest(objects [][2]map[string]any) (string, error) {
	h := sha256.New()
	for _, o := range objects {
		planned := diff.Normalize(o[0], diff.Options{})
		var live map[string]any
		if o[1] != nil {
			live = diff.Normalize(o[1], diff.Options{})
		}
		if err := diff.Mask(live, planned, diff.Options{}); err != nil {
			return "", err
		}
		hideRegisteredSecrets(planned, live)
		data, err := json.Marshal(planned)
		if err != nil {
			return "", err
		}
		// A registered secret left where no value stands (a map key) is masked all the same.
		h.Write(redact.Bytes(data))
		h.Write([]byte{'\n'})
	}
	return "masked-sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hideRegisteredSecrets replaces every string of planned that holds a registered secret (a
// decrypted secret value in a ConfigMap, a Deployment's env) by whether it equals the live
// object's string at the same place, as diff.Mask does for a Secret's data: the digest says
// whether such a value changes, never what it is.
func hideRegisteredSecrets(planned map[string]any, live any) {
	liveMap, _ := live.(map[string]any)
	for k, v := range planned {
		planned[k] = hideSecretValue(v, liveMap[k])
	}
}

func hideSecretValue(planned, live any) any {
	switch v := planned.(type) {
	case map[string]any:
		hideRegisteredSecrets(v, live)
	case []any:
		liveList, _ := live.([]any)
		for i := range v {
			var l any
			if i < len(liveList) {
				l = liveList[i]
			}
			v[i] = hideSecretValue(v[i], l)
		}
	case string:
		if redact.String(v) == v {
			return v
		}
		if l, ok := live.(string); ok && l == v {
			return diff.HiddenValue
		}
		return diff.HiddenChanged
	}
	return planned
}

// Live digests are of two kinds. An object holding no sensitive value is identified by its
// content (liveDigest), leaving out what the API server and controllers change by themselves.
// An object holding one (a Secret, werf.io/sensitive-paths, a registered secret in the live or
// the planned object) is identified by its resourceVersion alone, written with this prefix,
// so that a saved plan holds no hash of a secret, whichever secrets the run knows.
const liveDigestByVersion = "resourceVersion:"

// planLiveDigest is the digest a plan records for live, planned being what the chart renders
// for it (nil: it left the chart).
func planLiveDigest(live *unstructured.Unstructured, planned map[string]any) string {
	if holdsSecret(live.Object) || (planned != nil && holdsSecret(planned)) {
		return liveDigestByVersion + live.GetResourceVersion()
	}
	return liveDigest(live)
}

// holdsSecret says whether obj holds a sensitive value (diff.Mask hides something) or a
// registered secret.
func holdsSecret(obj map[string]any) bool {
	n := diff.Normalize(obj, diff.Options{})
	plain, _ := json.Marshal(n)
	if redact.String(string(plain)) != string(plain) {
		return true
	}
	if err := diff.Mask(n, nil, diff.Options{}); err != nil {
		return true
	}
	masked, _ := json.Marshal(n)
	return string(masked) != string(plain)
}

// liveMoved says whether live (nil: absent) is not the object a plan recorded as digest.
func liveMoved(digest string, live *unstructured.Unstructured) bool {
	if live == nil {
		return digest != ""
	}
	if version, ok := strings.CutPrefix(digest, liveDigestByVersion); ok {
		return live.GetResourceVersion() != version
	}
	return liveDigest(live) != digest
}

// liveDigest identifies the content of a live object, leaving out what the API server and
// controllers change by themselves. Sensitive values enter only through the resourceVersion,
// so that a saved plan reveals nothing about them.
func liveDigest(u *unstructured.Unstructured) string {
	n := diff.Normalize(u.Object, diff.Options{})
	masked := diff.Normalize(u.Object, diff.Options{})
	if err := diff.Mask(masked, nil, diff.Options{}); err == nil && !equalJSON(masked, n) {
		n = masked
		n["resourceVersion"] = u.GetResourceVersion()
	}
	data, _ := json.Marshal(n)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func equalJSON(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// VerifyPlan refuses to apply plan when the release or its live objects moved since it was
// made: another revision was recorded, or an object it reviewed changed.
func VerifyPlan(ctx context.Context, client *helmsdk.Client, clients track.Clients, release, namespace string, plan *Plan) error {
	if plan.Release != release || plan.Namespace != namespace {
		return exitcode.Usage("the plan is for release %q in namespace %q, not release %q in namespace %q", plan.Release, plan.Namespace, release, namespace)
	}
	revision := 0
	last, err := client.Last(release)
	switch {
	case err == nil && last.Status != "uninstalled":
		revision = last.Revision
	case err != nil && !errors.Is(err, helmsdk.ErrReleaseNotFound):
		return err
	}
	if revision != plan.Revision {
		return fmt.Errorf("%w: release %q is at revision %d, the plan was made at revision %d (someone deployed it since): make a new plan", helmsdk.ErrPlanOutdated, release, revision, plan.Revision)
	}
	var moved []string
	for _, c := range plan.Changes {
		if c.Action == ActionHook || c.Action == ActionHookSkipped {
			continue
		}
		live, err := getLive(ctx, clients, c.Object)
		if err != nil {
			return err
		}
		if liveMoved(c.LiveDigest, live) {
			moved = append(moved, c.Object.String())
		}
	}
	if len(moved) > 0 {
		if len(moved) > 5 {
			moved = append(moved[:5], fmt.Sprintf("and %d more", len(moved)-5))
		}
		return fmt.Errorf("%w: live objects changed since the plan was made: %s; make a new plan", helmsdk.ErrPlanOutdated, strings.Join(moved, ", "))
	}
	return nil
}

func getLive(ctx context.Context, clients track.Clients, ref track.Ref) (*unstructured.Unstructured, error) {
	mapping, err := clients.Mapper.RESTMapping(schema.GroupKind{Group: ref.Group, Kind: ref.Kind}, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	var ri = clients.Dynamic.Resource(mapping.Resource)
	var u *unstructured.Unstructured
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		u, err = ri.Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		u, err = ri.Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	return u, nil
}

// registerLiveSecret registers the data of a live Secret: the "-" side of a plan's diff shows
// values no render of this run produced.
func registerLiveSecret(live *unstructured.Unstructured) {
	if live == nil || live.GetKind() != "Secret" {
		return
	}
	data, _, _ := unstructured.NestedStringMap(live.Object, "data")
	for _, v := range data {
		if decoded, err := base64.StdEncoding.DecodeString(v); err == nil {
			redact.Add(string(decoded))
		}
	}
}
