// Package deploy carries out the operations on a release: converge (install or upgrade),
// rollback, dismiss and plan, each under the release lock, with the apply engine deploying
// and tracking the objects.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-converge/converge/shared/apply"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/manifest"
	"github.com/kubectl-converge/converge/shared/preflight"
	"github.com/kubectl-converge/converge/shared/releaselock"
	"github.com/kubectl-converge/converge/shared/track"
)

// ConvergeOptions tune one converge.
type ConvergeOptions struct {
	// Timeout bounds the whole deploy, tracking included; zero means no limit.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
	// CreateNamespace creates the release namespace when it does not exist.
	CreateNamespace bool
	// ForceAdoption takes over existing objects that do not belong to the release.
	ForceAdoption bool
	// KeepManualChanges keeps fields people set with kubectl that the chart does not have
	// (--no-remove-manual-changes); by default they are removed, as nelm does.
	KeepManualChanges bool
	// AutoRollback returns to the last deployed revision when the deploy fails (helm's
	// --atomic); a failed first install is uninstalled.
	AutoRollback bool
	// AutoRollbackTimeout bounds the auto-rollback, which starts after the deploy failed or
	// ran out of time; zero means DefaultAutoRollbackTimeout.
	AutoRollbackTimeout time.Duration
	// Lock tunes the release lock.
	Lock releaselock.Options
	// SkipCRDs leaves the chart's crds/ alone (werf's --no-install-crds).
	SkipCRDs bool
	// ReleaseLabels label the release's storage object (werf's --release-label).
	ReleaseLabels map[string]string
	// Plan, when set, is the reviewed plan to apply: the converge is refused when the
	// release, its live objects or the rendered manifests moved since.
	Plan *Plan
	// Track follows the deployed objects until they are ready or fail.
	Track track.Options
	// Sink receives the tracking events; nil discards them.
	Sink track.Sink
	// API is the clients' retry policy: it bounds the Helm SDK's requests by the run's
	// deadline and explains a deadline that passed while the API server did not answer; nil:
	// neither.
	API APIServer

	// handBackRun is set on the auto-rollback of a failed run: objects that run adopted go
	// back to their previous owners instead of being deleted.
	handBackRun string
}

// DefaultTimeout is the timeout of every command that deploys, rolls back, uninstalls or
// tracks: one model for all of them.
const DefaultTimeout = 15 * time.Minute

// DefaultAutoRollbackTimeout is how long the auto-rollback after a failed or timed-out deploy
// may take: a failed converge with --auto-rollback ends within --timeout plus this.
const DefaultAutoRollbackTimeout = 5 * time.Minute

func (o ConvergeOptions) sink() track.Sink {
	if o.Sink == nil {
		return func(track.Event) {}
	}
	return o.Sink
}

// withTimeout bounds ctx by d; zero leaves it unbounded.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Resource names one object of a release.
type Resource struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Result is what a converge did.
type Result struct {
	Release   *helmsdk.Release     `json:"release"`
	Resources []Resource           `json:"resources"`
	Tracking  []track.ObjectResult `json:"tracking,omitempty"`
	// RolledBack is the revision --auto-rollback deployed after a failure.
	RolledBack *helmsdk.Release `json:"rolledBack,omitempty"`
	// RollbackTracking is where the auto-rollback's objects ended.
	RollbackTracking []track.ObjectResult `json:"rollbackTracking,omitempty"`
	Duration         time.Duration        `json:"-"`
}

// Converge installs or upgrades the prepared release under the release lock: the namespace
// first, then the chart's CRDs, pre-hooks, the objects weight group by weight group (each
// tracked until ready), post-hooks. A revision left pending by an interrupted run is marked
// failed first. A failure marks the new revision failed.
func Converge(ctx context.Context, client *helmsdk.Client, clients track.Clients, p *inputs.Prepared, opts ConvergeOptions) (*Result, error) {
	start := time.Now()
	parent := ctx
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	if opts.API != nil {
		defer opts.API.Bind(ctx)()
	}
	sink := opts.sink()
	if err := Reach(ctx, clients.Kube); err != nil {
		return nil, err
	}
	if err := EnsureNamespace(ctx, clients, p.Namespace, p.ReleaseName, opts.CreateNamespace); err != nil {
		return nil, err
	}
	opts.Lock.Operation = "converge"
	deadline := ctx
	lock, ctx, err := releaselock.Acquire(ctx, clients.Kube, p.Namespace, p.ReleaseName, opts.Lock, sink)
	if err != nil {
		return nil, outage(deadline, parent, opts.API, client, p.ReleaseName, nil, err, sink)
	}
	defer lock.Release()
	if err := recoverPending(client, p.ReleaseName, sink); err != nil {
		return nil, outage(deadline, parent, opts.API, client, p.ReleaseName, nil, err, sink)
	}
	expectDigest, expectHooksDigest := "", ""
	if opts.Plan != nil {
		if opts.Plan.LegacyDigestKey != "" {
			return nil, exitcode.Usage("--use-plan: the plan was saved by an earlier version, with its digest key in the file: make a new plan")
		}
		if err := VerifyPlan(ctx, client, clients, p.ReleaseName, p.Namespace, opts.Plan); err != nil {
			return nil, err
		}
		if err := verifyPlanRender(ctx, client, p, opts.Plan, opts.ForceAdoption); err != nil {
			return nil, err
		}
		// Helm renders again as it deploys: its post-renderer checks that manifest, and the
		// hooks are checked as it stores the revision, before any runs.
		expectDigest, expectHooksDigest = opts.Plan.Digests.Manifest, opts.Plan.Digests.Hooks
	}
	var crds helmsdk.CRDsResult
	if opts.SkipCRDs {
		if err := renderBeforeCRDs(ctx, p, p.Chart.CRDAPIVersions()); err != nil {
			return nil, err
		}
	} else {
		// The chart renders while the live CRDs are read and those to write parsed; nothing
		// is written unless it renders.
		crds, err = client.ApplyCRDsAfter(ctx, p.Chart, func(apiVersions []string) error { return renderBeforeCRDs(ctx, p, apiVersions) })
		var unrendered renderBeforeCRDsError
		if errors.As(err, &unrendered) {
			return nil, err
		}
		if err != nil {
			return nil, outage(deadline, parent, opts.API, client, p.ReleaseName, nil, exitcode.Wrap(exitcode.CodeDeployFailed, err), sink)
		}
	}
	if line := crdsLine(crds); line != "" {
		sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(start), Stage: "crds", Line: line, Phase: PhaseCRDs})
		for _, name := range crds.Applied {
			sink(track.Event{Type: track.EventTypeAction, Time: time.Now(), Elapsed: time.Since(start), Object: crdRef(name), Phase: PhaseCRDs, Action: ActionApplyCRD, Line: "applied CRD " + name})
		}
	}
	if opts.Track.Access == nil {
		opts.Track.Access = track.NewAccess()
	}
	adoptRun := ""
	if opts.ForceAdoption {
		adoptRun = newRunID()
	}
	ap := newApplier(ctx, p.ReleaseName, p.Namespace, clients, opts, start, adoptRun)
	rel, err := client.UpgradeOrInstall(ctx, helmsdk.UpgradeRequest{
		ReleaseName:       p.ReleaseName,
		Chart:             p.Chart,
		Values:            p.Values,
		StoredValues:      p.StoredValues,
		Timeout:           helmTimeout(opts.Timeout),
		HistoryMax:        opts.HistoryMax,
		Description:       p.Description(),
		Applier:           ap,
		ForceAdoption:     opts.ForceAdoption,
		KeepManualChanges: opts.KeepManualChanges,
		Labels:            opts.ReleaseLabels,
		ExpectDigest:      expectDigest,
		ExpectHooksDigest: expectHooksDigest,
		Digest:            planDigest(client),
		Preflight: func(rendered []byte) error {
			return preflight.CheckAccess(ctx, clients.Kube, clients.Mapper, p.Namespace, rendered, opts.Track.Access, sink)
		},
	})
	if err != nil {
		if oerr := outage(deadline, parent, opts.API, client, p.ReleaseName, ap.Applied(), err, sink); oerr != err {
			return interruptedResult(ap, rel, sink, start), oerr
		}
	}
	res := result(ap, rel, opts.sink(), start)
	if err == nil {
		return res, nil
	}
	err = ap.Explain(err)
	if rel == nil && exitcode.Of(err) == exitcode.CodeDeployFailed {
		// No revision was recorded, so nothing was deployed: the input was refused.
		err = exitcode.Wrap(exitcode.CodeError, err)
	}
	var adoption *helmsdk.AdoptionError
	if errors.As(err, &adoption) || rel == nil || !opts.AutoRollback || parent.Err() != nil {
		return res, err
	}
	rollbackTimeout := opts.AutoRollbackTimeout
	if rollbackTimeout <= 0 {
		rollbackTimeout = DefaultAutoRollbackTimeout
	}
	rbCtx, rbCancel := context.WithTimeout(parent, rollbackTimeout)
	defer rbCancel()
	if opts.API != nil {
		defer opts.API.Bind(rbCtx)()
	}
	opts.Timeout = rollbackTimeout
	opts.handBackRun = adoptRun
	var rolled *Result
	rolled, err = autoRollback(rbCtx, client, clients, p.ReleaseName, p.Namespace, rel.Revision, opts, err)
	if rolled != nil {
		res.RolledBack, res.RollbackTracking = rolled.Release, rolled.Tracking
	}
	return res, err
}

// crdsLine says what happened to the chart's CRDs: "applied CRDs: a; unchanged: b".
func crdsLine(crds helmsdk.CRDsResult) string {
	var parts []string
	if len(crds.Applied) > 0 {
		parts = append(parts, "applied CRDs: "+strings.Join(crds.Applied, ", "))
	}
	if len(crds.Unchanged) > 0 {
		parts = append(parts, "unchanged CRDs: "+strings.Join(crds.Unchanged, ", "))
	}
	return strings.Join(parts, "; ")
}

// renderBeforeCRDs renders the whole chart once before its CRDs are applied, so that a chart
// that cannot render changes nothing in the cluster: CRDs go first (Helm maps the chart's
// custom resources against them), and a template error found after that would leave them
// applied. The render is offline, as helm template and Argo CD render, with the CRDs' own
// API versions in .Capabilities, and without the transform (its checks need the CRDs served:
// they run in the deploy's own render); charts without CRDs skip it (nothing precedes their
// render).
func renderBeforeCRDs(ctx context.Context, p *inputs.Prepared, crdAPIVersions []string) error {
	if !p.Chart.HasCRDs() {
		return nil
	}
	ch, err := p.Chart.Copy()
	if err != nil {
		return err
	}
	_, err = helmsdk.Render(ctx, helmsdk.RenderRequest{
		ReleaseName: p.ReleaseName,
		Namespace:   p.Namespace,
		Chart:       ch,
		Values:      p.Values,
		APIVersions: crdAPIVersions,
	})
	if err != nil {
		return exitcode.Wrap(exitcode.CodeError, renderBeforeCRDsError{fmt.Errorf("render chart %q before applying its CRDs: %w", p.Chart.Name(), err)})
	}
	return nil
}

// renderBeforeCRDsError is a chart that did not render before its CRDs were applied: the
// input is wrong and nothing was written, so it is returned as is, not as a deploy failure.
type renderBeforeCRDsError struct{ error }

func (e renderBeforeCRDsError) Unwrap() error { return e.error }

// helmTimeout is what Helm's own waits (hook deletion) get: Helm takes zero as "no time".
func helmTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 24 * time.Hour
	}
	return d
}

// newApplier is the apply engine of one converge or rollback.
func newApplier(ctx context.Context, release, namespace string, clients track.Clients, opts ConvergeOptions, start time.Time, adoptRun string) *apply.Applier {
	return apply.New(ctx, apply.Config{Release: release, Namespace: namespace, Clients: clients, Track: opts.Track, Sink: opts.Sink, Start: start, AdoptRun: adoptRun, HandBackRun: opts.handBackRun})
}

// result is the outcome of an operation the applier carried out; its summary goes to sink.
func result(ap *apply.Applier, rel *helmsdk.Release, sink track.Sink, start time.Time) *Result {
	return summarized(ap.Results(), rel, sink, start)
}

// summarized is the Result of tracked objects; their summary goes to sink.
func summarized(tracked []track.ObjectResult, rel *helmsdk.Release, sink track.Sink, start time.Time) *Result {
	res := &Result{Release: rel, Tracking: tracked, Duration: time.Since(start)}
	if rel != nil {
		res.Resources = Resources(rel.Manifest)
	}
	if len(tracked) > 0 {
		sink(track.Event{Type: track.EventTypeSummary, Time: time.Now(), Elapsed: time.Since(start), Results: tracked})
	}
	return res
}

// interruptedResult is result for a run an outage interrupted: the summary lists every
// object applied, those it could not track as progressing.
func interruptedResult(ap *apply.Applier, rel *helmsdk.Release, sink track.Sink, start time.Time) *Result {
	tracked := ap.Results()
	seen := map[track.Ref]bool{}
	for _, r := range tracked {
		seen[r.Object] = true
	}
	for _, ref := range ap.Applied() {
		if !seen[ref] {
			tracked = append(tracked, track.ObjectResult{Object: ref, Status: track.Status{State: track.StateProgressing, Detail: "applied; not tracked: the API server did not answer"}})
		}
	}
	return summarized(tracked, rel, sink, start)
}

// autoRollback returns the release to its last deployed revision after failed revision
// failedRevision, or uninstalls a release that never deployed. The returned error is the
// original failure, saying what the rollback did.
func autoRollback(ctx context.Context, client *helmsdk.Client, clients track.Clients, release, namespace string, failedRevision int, opts ConvergeOptions, failure error) (*Result, error) {
	sink := opts.sink()
	revs, err := client.History(release)
	if err != nil {
		return nil, errors.Join(failure, fmt.Errorf("auto-rollback: %w", err))
	}
	target := 0
	for _, r := range revs {
		if r.Revision < failedRevision && (r.Status == helmsdk.StatusDeployed || r.Status == helmsdk.StatusSuperseded) {
			target = r.Revision
		}
	}
	if target == 0 {
		sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "auto-rollback", Phase: PhaseAutoRollback, Action: ActionUninstall, Reason: ReasonNeverDeployed,
			Line: fmt.Sprintf("auto-rollback: release %q never deployed successfully: uninstalling it", release)})
		if _, err := Dismiss(ctx, client, clients, DismissRequest{ReleaseName: release, Namespace: namespace, Timeout: opts.Timeout, Locked: true, handBackRun: opts.handBackRun}, sink); err != nil {
			return nil, errors.Join(failure, fmt.Errorf("auto-rollback: uninstall: %w", err))
		}
		return &Result{}, fmt.Errorf("%w (auto-rollback: the failed first install was uninstalled)", failure)
	}
	sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "auto-rollback", Phase: PhaseAutoRollback, Action: ActionRollback, Reason: ReasonDeployFailed,
		Line: fmt.Sprintf("auto-rollback: returning release %q to revision %d", release, target)})
	rolled, err := rollbackLocked(ctx, client, clients, RollbackRequest{ReleaseName: release, Namespace: namespace, Revision: target}, opts)
	if err != nil || rolled == nil || rolled.Release == nil {
		return nil, errors.Join(failure, fmt.Errorf("auto-rollback to revision %d failed too: %w", target, err))
	}
	return rolled, fmt.Errorf("%w (auto-rollback: revision %d is live again as revision %d)", failure, target, rolled.Release.Revision)
}

// recoverPending marks failed a revision that an interrupted run left pending: it holds no
// lock any more (we hold it), so nothing is working on it, and Helm refuses every operation
// on a release with a pending revision.
func recoverPending(client *helmsdk.Client, release string, sink track.Sink) error {
	last, err := client.Last(release)
	if errors.Is(err, helmsdk.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !helmsdk.IsPending(last.Status) {
		return nil
	}
	if err := client.MarkFailed(release, last.Revision, fmt.Sprintf("Interrupted while %s; marked failed by the next run", last.Status)); err != nil {
		return err
	}
	sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "recover", Warning: true, Phase: PhaseRecover, Action: ActionMarkFailed, Reason: ReasonInterrupted,
		Line: fmt.Sprintf("release %q revision %d was left %s by an interrupted run: marked it failed, continuing", release, last.Revision, last.Status)})
	return nil
}

// reachTimeout bounds the first request of a run: an API server that accepts connections
// but does not answer would otherwise hang the run until --timeout.
const reachTimeout = 10 * time.Second

// Reach asks the API server for its version, so that an unreachable or hung server fails
// the run within seconds with a clear error instead of at the first real request.
func Reach(ctx context.Context, kube kubernetes.Interface) error {
	rc := kube.Discovery().RESTClient()
	if rc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	host := ""
	if u := rc.Get().URL(); u != nil {
		host = u.Scheme + "://" + u.Host
	}
	if err := rc.Get().AbsPath("/version").Do(ctx).Error(); err != nil {
		// The retries stop once the deadline has passed, which may be before the context's
		// timer has marked it done: the clock decides, not the context alone.
		if deadline, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(deadline) {
			err = fmt.Errorf("no answer within %s: %w", reachTimeout, err)
		}
		return fmt.Errorf("cannot reach the Kubernetes API server %s: %w: check --kubeconfig, --context or --server and that the cluster is up", host, err)
	}
	return nil
}

// AnnotationCreatedForRelease marks a namespace converge created for a release: dismiss
// --with-namespace deletes only such a namespace.
const AnnotationCreatedForRelease = "kubectl-converge.io/created-for-release"

// EnsureNamespace creates the release namespace when it is missing and create is set,
// recording the release it was created for. A user not allowed to read namespaces goes on:
// the deploy then fails clearly if it is missing.
func EnsureNamespace(ctx context.Context, clients track.Clients, namespace, release string, create bool) error {
	namespaces := clients.Kube.CoreV1().Namespaces()
	_, err := namespaces.Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case err == nil, apierrors.IsForbidden(err):
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("read namespace %q: %w", namespace, err)
	case !create:
		return exitcode.Usage("namespace %q does not exist: create it, or converge without --no-create-namespace", namespace)
	}
	_, err = namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Annotations: map[string]string{AnnotationCreatedForRelease: release}}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %q: %w", namespace, err)
	}
	return nil
}

// RollbackRequest says which revision to return to.
type RollbackRequest struct {
	ReleaseName string
	Namespace   string
	// Revision is the revision to deploy again; zero means the previous successful one.
	Revision int
}

// Rollback deploys an earlier revision again as a new revision, under the release lock, and
// tracks it like a converge.
func Rollback(ctx context.Context, client *helmsdk.Client, clients track.Clients, req RollbackRequest, opts ConvergeOptions) (*Result, error) {
	ctx, cancel := withTimeout(ctx, opts.Timeout)
	defer cancel()
	if opts.API != nil {
		defer opts.API.Bind(ctx)()
	}
	opts.Lock.Operation = "rollback"
	if err := Reach(ctx, clients.Kube); err != nil {
		return nil, err
	}
	lock, ctx, err := releaselock.Acquire(ctx, clients.Kube, req.Namespace, req.ReleaseName, opts.Lock, opts.sink())
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := recoverPending(client, req.ReleaseName, opts.sink()); err != nil {
		return nil, err
	}
	return rollbackLocked(ctx, client, clients, req, opts)
}

func rollbackLocked(ctx context.Context, client *helmsdk.Client, clients track.Clients, req RollbackRequest, opts ConvergeOptions) (*Result, error) {
	start := time.Now()
	// A rollback renders nothing: the Secrets of the revisions it may deploy are registered
	// with the redactor here, so that logs and events quoting them are masked.
	client.RegisterReleaseSecrets(req.ReleaseName)
	ap := newApplier(ctx, req.ReleaseName, req.Namespace, clients, opts, start, "")
	rel, err := client.Rollback(ctx, helmsdk.RollbackRequest{ReleaseName: req.ReleaseName, Revision: req.Revision, Timeout: helmTimeout(opts.Timeout), HistoryMax: opts.HistoryMax, Applier: ap, KeepManualChanges: opts.KeepManualChanges})
	res := result(ap, rel, opts.sink(), start)
	if err != nil {
		if errors.Is(err, helmsdk.ErrReleaseNotFound) {
			return nil, err
		}
		return res, ap.Explain(err)
	}
	return res, nil
}

// DismissRequest says which release to uninstall.
type DismissRequest struct {
	ReleaseName string
	Namespace   string
	// Timeout bounds the uninstall and the wait for the objects to go; zero: no limit.
	Timeout time.Duration
	// Locked says the caller holds the release lock already.
	Locked bool
	// Lock tunes the release lock.
	Lock releaselock.Options
	// SkipCRDs leaves the chart's crds/ alone (werf's --no-install-crds).
	SkipCRDs bool
	// ReleaseLabels label the release's storage object (werf's --release-label).
	ReleaseLabels map[string]string
	// KeepHooks leaves the release's hooks in place (werf's --with-hooks=false); zero: they
	// are deleted after its objects, as werf's dismiss deletes them, so that a converge of
	// the same chart can create them again.
	KeepHooks bool
	// WithNamespace deletes the release namespace after the release, still under the release
	// lock, and waits until it is gone; only a namespace converge created for the release and
	// that holds nothing of anyone else (deleteNamespaceIfAlone), unless ForceNamespace.
	WithNamespace bool
	// ForceNamespace deletes the namespace with WithNamespace whatever it holds.
	ForceNamespace bool

	handBackRun string
}

// Dismiss uninstalls the release (delete hooks run, objects with helm.sh/resource-policy:
// keep stay, then its hooks go unless kept) and tracks its objects until they are gone.
func Dismiss(ctx context.Context, client *helmsdk.Client, clients track.Clients, req DismissRequest, sink track.Sink) (*helmsdk.Release, error) {
	start := time.Now()
	if sink == nil {
		sink = func(track.Event) {}
	}
	ctx, cancel := withTimeout(ctx, req.Timeout)
	defer cancel()
	unlockedCtx, unlock := ctx, func() {}
	if !req.Locked {
		if err := Reach(ctx, clients.Kube); err != nil {
			return nil, err
		}
		req.Lock.Operation = "dismiss"
		lock, lockedCtx, err := releaselock.Acquire(ctx, clients.Kube, req.Namespace, req.ReleaseName, req.Lock, sink)
		if err != nil {
			return nil, err
		}
		var once sync.Once
		unlock = func() { once.Do(lock.Release) }
		defer unlock()
		ctx = lockedCtx
	}
	rel, err := dismissLocked(ctx, client, clients, req, sink, start)
	if err != nil || !req.WithNamespace {
		return rel, err
	}
	deletion, err := deleteNamespaceIfAlone(ctx, clients, req.Namespace, req.ReleaseName, req.ForceNamespace, sink)
	if err != nil {
		return rel, err
	}
	// The namespace's deletion takes the lock's Lease with it: the lock is given up before
	// the wait, once nothing can start between the check and the deletion.
	unlock()
	return rel, deletion.await(unlockedCtx, clients, sink)
}

func dismissLocked(ctx context.Context, client *helmsdk.Client, clients track.Clients, req DismissRequest, sink track.Sink, start time.Time) (*helmsdk.Release, error) {
	rel, err := client.Uninstall(ctx, helmsdk.UninstallRequest{ReleaseName: req.ReleaseName, Wait: false, Timeout: helmTimeout(req.Timeout), HandBackRun: req.handBackRun, KeepHooks: req.KeepHooks,
		DeleteOrder: func(objects []*resource.Info) ([][]*resource.Info, error) {
			return apply.DeleteWaves(objects, req.Namespace)
		},
		AwaitGone: func(ctx context.Context, objects []*resource.Info) error {
			refs, err := apply.Refs(objects)
			if err != nil {
				return err
			}
			opts := track.DefaultOptions()
			opts.Since, opts.NoSummary = start, true
			_, err = apply.AwaitGone(ctx, clients, refs, opts, sink)
			return err
		}})
	if err != nil || rel == nil {
		return rel, err
	}
	targets, err := Targets(removedObjects(rel.Manifest)+"\n---\n"+rel.DeletedLeftovers+"\n---\n"+rel.DeletedHooks, req.Namespace, clients.Mapper)
	if err != nil {
		return rel, err
	}
	spared := map[string]bool{}
	for _, s := range rel.Spared {
		spared[s.Kind+"/"+s.Name] = true
		line, stage, warning := fmt.Sprintf("not deleting %s %q: it belongs to release %q now", s.Kind, s.Name, s.Owner), "orphan", true
		d := lifecycle.Decision{Action: lifecycle.ActionOrphan, Reason: lifecycle.ReasonOwnedByAnotherRelease, Phase: lifecycle.PhaseUninstall}
		switch {
		case s.HandedBack:
			line = fmt.Sprintf("handed %s %q back to %q: the failed run had adopted it", s.Kind, s.Name, s.Owner)
			d.Action, d.Reason = lifecycle.ActionHandBack, lifecycle.ReasonAdoptedInFailedRun
		case s.Reason == helmsdk.SparedKept:
			line, stage, warning = fmt.Sprintf("keep %s %q: it is annotated %s: keep", s.Kind, s.Name, lifecycle.AnnotationWerfResourcePolicy), "keep", false
			d.Action, d.Reason = lifecycle.ActionKeep, lifecycle.ReasonWerfResourcePolicy
		case s.Reason == helmsdk.SparedHelmKept:
			what := s.Kind
			if s.Hook {
				what = "hook " + s.Kind
			}
			line, stage, warning = fmt.Sprintf("keep %s %q: it is annotated %s: keep", what, s.Name, lifecycle.AnnotationHelmResourcePolicy), "keep", false
			d.Action, d.Reason = lifecycle.ActionKeep, lifecycle.ReasonHelmResourcePolicy
		case s.Reason == helmsdk.SparedOwnedByAnyone:
			line, stage, warning = fmt.Sprintf("keep %s %q: it is annotated %s: %s", s.Kind, s.Name, lifecycle.AnnotationOwnership, lifecycle.OwnershipAnyone), "keep", false
			d.Action, d.Reason = lifecycle.ActionKeep, lifecycle.ReasonOwnershipAnyone
		}
		sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(start), Stage: stage, Warning: warning, Line: line,
			Action: string(d.Action), Reason: string(d.Reason), Phase: string(d.Phase)})
	}
	kept := targets[:0]
	for _, t := range targets {
		if !spared[t.Ref.Kind+"/"+t.Ref.Name] {
			kept = append(kept, t)
		}
	}
	targets = kept
	refs := make([]track.Ref, len(targets))
	for i, t := range targets {
		refs[i] = t.Ref
	}
	opts := track.DefaultOptions()
	opts.Since = start
	_, err = apply.AwaitGone(ctx, clients, refs, opts, sink)
	return rel, err
}

// removedObjects drops from a manifest the objects Helm keeps on uninstall.
func removedObjects(rendered string) string {
	objs, err := manifest.Parse([]byte(rendered))
	if err != nil {
		return rendered
	}
	var kept []*manifest.Object
	for _, o := range objs {
		if o.Root != nil && o.Annotations()[lifecycle.AnnotationHelmResourcePolicy] != "keep" {
			kept = append(kept, o)
		}
	}
	out, err := manifest.Encode(kept)
	if err != nil {
		return rendered
	}
	return string(out)
}

// Targets lists the objects of a rendered manifest as tracking targets.
func Targets(rendered, namespace string, mapper meta.RESTMapper) ([]track.Target, error) {
	objs, err := manifest.Parse([]byte(rendered))
	if err != nil {
		return nil, err
	}
	var list []*unstructured.Unstructured
	for _, o := range objs {
		if o.Root == nil {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := o.Root.Decode(&u.Object); err != nil {
			return nil, fmt.Errorf("%s %q: %w", o.Kind(), o.Name(), err)
		}
		list = append(list, u)
	}
	namespaced := func(gvk schema.GroupVersionKind) bool {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		return err != nil || m.Scope.Name() == meta.RESTScopeNameNamespace
	}
	return track.RefsFromManifest(list, namespace, namespaced)
}

// Resources lists the objects of a rendered manifest.
func Resources(rendered string) []Resource {
	objs, err := manifest.Parse([]byte(rendered))
	if err != nil {
		return nil
	}
	out := make([]Resource, 0, len(objs))
	for _, o := range objs {
		if o.Root != nil {
			out = append(out, Resource{Kind: o.Kind(), Name: o.Name()})
		}
	}
	return out
}

// newRunID names one converge run in the adoption records it leaves.
func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
