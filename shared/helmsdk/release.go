package helmsdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// ErrReleaseNotFound is returned for a release with no revision in the namespace.
var ErrReleaseNotFound = errors.New("release not found")

// Status values of a release revision, as Helm stores them.
const (
	StatusDeployed   = "deployed"
	StatusSuperseded = "superseded"
	StatusFailed     = "failed"
)

// Release is one revision of a release.
type Release struct {
	Name         string    `json:"name"`
	Namespace    string    `json:"namespace"`
	Revision     int       `json:"revision"`
	Status       string    `json:"status"`
	ChartName    string    `json:"chart"`
	ChartVersion string    `json:"chartVersion"`
	AppVersion   string    `json:"appVersion,omitempty"`
	Updated      time.Time `json:"updated"`
	Description  string    `json:"description,omitempty"`
	Notes        string    `json:"-"`
	// Manifest is the rendered manifest, hooks excluded.
	Manifest string `json:"-"`
	// Hooks are the rendered hook manifests.
	Hooks []string `json:"-"`
	// Spared are the objects an uninstall left because another release owns them now.
	Spared []SparedObject `json:"spared,omitempty"`
	// DeletedHooks is the manifest of the hooks an uninstall deleted (UninstallRequest.KeepHooks).
	DeletedHooks string `json:"-"`
	// DeletedLeftovers is the manifest of the objects an uninstall deleted that revisions
	// since the last successful one held and the newest one does not (a failed upgrade
	// stops before deleting what left the chart).
	DeletedLeftovers string `json:"-"`
}

func fromHelm(rel *helmrelease.Release) *Release {
	out := &Release{
		Name:      rel.Name,
		Namespace: rel.Namespace,
		Revision:  rel.Version,
		Manifest:  rel.Manifest,
	}
	if rel.Info != nil {
		out.Status = rel.Info.Status.String()
		out.Notes = rel.Info.Notes
		out.Updated = rel.Info.LastDeployed.Time
		out.Description = rel.Info.Description
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		out.ChartName = rel.Chart.Metadata.Name
		out.ChartVersion = rel.Chart.Metadata.Version
		out.AppVersion = rel.Chart.Metadata.AppVersion
	}
	for _, h := range rel.Hooks {
		out.Hooks = append(out.Hooks, "# Source: "+h.Path+"\n"+h.Manifest)
	}
	return out
}

// UpgradeRequest describes one install-or-upgrade of a release.
type UpgradeRequest struct {
	ReleaseName string
	Chart       *charts.Chart
	// Values are rendered as given: Helm does not check them against values.schema.json,
	// the caller does (inputs.Prepare, without werf's service values).
	Values map[string]any
	// CreateNamespace creates the release namespace when the release is installed.
	CreateNamespace bool
	// Wait blocks until the release's resources are ready, as helm --wait does; without it
	// the caller tracks readiness itself (and records a failure with MarkFailed).
	Wait bool
	// Timeout bounds each Kubernetes operation and the wait; zero means 5 minutes.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
	// Description is recorded in the revision (helm history shows it); empty keeps Helm's.
	Description string
	// Applier applies the release's objects and awaits its hooks; nil lets Helm do it.
	Applier Applier
	// KeepManualChanges keeps fields people set with kubectl that the chart does not have
	// (Helm 3's behaviour); by default they are removed, as nelm does.
	KeepManualChanges bool
	// ForceAdoption takes over existing objects that do not belong to the release.
	ForceAdoption bool
	// InstallCRDs creates the chart's crds/ on a first install, as Helm does; callers that
	// apply CRDs themselves (ApplyCRDs) leave it off.
	InstallCRDs bool
	// ExpectDigest refuses to deploy manifests other than those a Preview rendered (with
	// ErrPlanOutdated); "" accepts any.
	ExpectDigest string
	// ExpectHooksDigest refuses to store and run hooks other than those a Preview rendered:
	// Digest of the hooks joined as a Preview's Release.Hooks, checked as Helm stores the new
	// revision, before any hook runs or object is applied (its post-renderer never sees
	// hooks); "" accepts any.
	ExpectHooksDigest string
	// Digest identifies the rendered manifests (after the transform) for Preview.Digest and
	// ExpectDigest; nil: ManifestDigest.
	Digest func(manifests []byte) (string, error)
	// Preflight checks the rendered manifest after the transform, before Helm records a
	// revision or touches an object; its error fails the deploy as it is.
	Preflight func(rendered []byte) error
	// StoredValues are the values the revision this upgrade writes stores instead of Values
	// (which include decrypted secrets); nil stores Values, as Helm does. Earlier revisions
	// keep the values they were written with.
	StoredValues map[string]any
	// Labels are added to the release's storage object (helm --labels, werf --release-label).
	Labels map[string]string
}

// UpgradeOrInstall installs the release when no revision of it was deployed since it was
// created or uninstalled (a retry after a failed first install is an install, as in nelm:
// deployMode), and upgrades it otherwise.
func (c *Client) UpgradeOrInstall(ctx context.Context, req UpgradeRequest) (*Release, error) {
	// When its context ends, Helm marks the revision failed at once while its own goroutine
	// goes on, and that goroutine's write of the release as a hook starts can land after
	// the failure: the revision is left pending. Helm gets a context that ends a grace
	// period after ours, so that its goroutine fails first (our applier ends its waits on
	// ctx at once) and Helm records the failure after its own writes; a revision still
	// pending after that is marked failed here.
	helmCtx, returned := afterGrace(ctx, interruptGrace)
	defer returned()
	before := 0
	if last, err := c.lastRevision(req.ReleaseName); err == nil {
		before = last.Version
	}
	rel, err := c.upgradeOrInstall(helmCtx, req, false)
	if err != nil && ctx.Err() != nil {
		rel = c.failPending(req.ReleaseName, rel, context.Cause(ctx))
	}
	var refused *renderRefusal
	if errors.As(err, &refused) {
		// Helm's wrapping ("error while running post render on files") says less.
		return nil, refused.err
	}
	if err != nil {
		err = helmError(c.adoptionError(err, req.ReleaseName))
		if rel != nil && rel.Info != nil && rel.Info.Status == helmrelease.StatusFailed && c.recorded(req.ReleaseName, before) {
			return fromHelm(rel), err
		}
		return nil, err
	}
	return fromHelm(rel), nil
}

// recorded says whether the release got a revision after revision before: Helm's install
// returns a failed release it never stored when the chart does not render, which recorded
// nothing and deployed nothing.
func (c *Client) recorded(name string, before int) bool {
	last, err := c.lastRevision(name)
	return err == nil && last.Version > before
}

// Preview renders what UpgradeOrInstall would deploy, with lookups against the cluster, and
// records nothing. Digest identifies the rendered manifests, for ExpectDigest.
type Preview struct {
	// Release is the revision that would be recorded.
	Release *Release
	// Current is the newest recorded revision; nil for a release that does not exist.
	Current *Release
	// Install says the deploy is an install (see deployMode): no revision was deployed
	// since the release was created or last uninstalled.
	Install bool
	Digest  string
}

// Preview renders the release as an install or upgrade would.
func (c *Client) Preview(ctx context.Context, req UpgradeRequest) (*Preview, error) {
	out := &Preview{}
	current, err := c.lastRevision(req.ReleaseName)
	switch {
	case err == nil && current.Info.Status != helmrelease.StatusUninstalled:
		out.Current = fromHelm(current)
	case err != nil && !errors.Is(err, ErrReleaseNotFound):
		return nil, err
	}
	mode, err := c.deployMode(req.ReleaseName)
	if err != nil {
		return nil, err
	}
	out.Install = mode.install
	rel, err := c.upgradeOrInstall(ctx, req, true)
	var refused *renderRefusal
	if errors.As(err, &refused) {
		return nil, refused.err
	}
	if err != nil {
		return nil, err
	}
	out.Release = fromHelm(rel)
	// Helm stores the post-renderer's output as the manifest, byte for byte.
	if out.Digest, err = req.digest([]byte(rel.Manifest)); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) upgradeOrInstall(ctx context.Context, req UpgradeRequest, dryRun bool) (*helmrelease.Release, error) {
	timeout := req.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	mode, err := c.deployMode(req.ReleaseName)
	if err != nil {
		return nil, err
	}
	settings := actionSettings{applier: req.Applier, keepManual: req.KeepManualChanges, storedValues: req.StoredValues, historyMax: req.HistoryMax}
	userChart := req.Chart.Helm()
	rendered := userChart
	if mode.install && mode.replace {
		// Helm's install renders .Release.Revision 1 and numbers the revision after the
		// history's last; helm upgrade --install (werf 1.2) and nelm render that number.
		rendered, settings.storedChart = renderedAsRevision(userChart, mode.revision), userChart
	}
	if req.ExpectHooksDigest != "" && !dryRun {
		settings.checkStored = req.checkHooks
	}
	cfg, kube := c.actionConfig(settings)
	if mode.retried != nil && kube != nil {
		if kube.retried, err = c.Objects(mode.retried.Manifest); err != nil {
			return nil, fmt.Errorf("read the objects of failed revision %d of release %q: %w", mode.retried.Version, req.ReleaseName, err)
		}
	}
	var rel *helmrelease.Release
	if mode.install {
		install := action.NewInstall(cfg)
		renderer := c.postRenderer(req, "install", &install.TakeOwnership)
		install.ReleaseName = req.ReleaseName
		install.Namespace = c.namespace
		install.CreateNamespace = req.CreateNamespace
		install.Wait = req.Wait
		install.WaitForJobs = req.Wait
		install.Timeout = timeout
		install.Replace = mode.replace
		install.PostRenderer = renderer
		install.Description = req.Description
		install.TakeOwnership = req.ForceAdoption
		install.SkipCRDs = !req.InstallCRDs
		install.Labels = req.Labels
		install.SkipSchemaValidation = true // as in Render
		if dryRun {
			install.DryRun, install.DryRunOption = true, "server"
		}
		rel, err = install.RunWithContext(ctx, rendered, req.Values)
		if rel != nil && dryRun {
			// Helm numbers the revision only as it stores it.
			rel.Version = mode.revision
		}
	} else {
		upgrade := action.NewUpgrade(cfg)
		renderer := c.postRenderer(req, "upgrade", &upgrade.TakeOwnership)
		upgrade.Namespace = c.namespace
		upgrade.Wait = req.Wait
		upgrade.WaitForJobs = req.Wait
		upgrade.Timeout = timeout
		upgrade.MaxHistory = req.HistoryMax
		upgrade.PostRenderer = renderer
		upgrade.Description = req.Description
		upgrade.Labels = req.Labels
		upgrade.TakeOwnership = req.ForceAdoption
		upgrade.SkipSchemaValidation = true // as in Render
		if dryRun {
			upgrade.DryRun, upgrade.DryRunOption = true, "server"
		}
		rel, err = upgrade.RunWithContext(ctx, req.ReleaseName, req.Chart.Helm(), req.Values)
	}
	return rel, err
}

// deployMode is how a deploy of a release goes: an install or an upgrade.
type deployMode struct {
	install bool
	// revision is the number of the revision the deploy stores: 1 for the first, else the one
	// after the newest in the history (uninstalled and failed ones included).
	revision int
	// replace installs over earlier revisions (Helm's install --replace): the new revision
	// is numbered after them.
	replace bool
	// retried is the failed revision an install retries: its objects are the previous ones
	// (those not rendered any more leave the release, as on an upgrade).
	retried *helmrelease.Release
}

// deployMode decides install or upgrade as nelm does (nelm pkg/action/release_install.go:
// DeployTypeUpgrade only when pkg/release/history.go FindAllDeployed finds a revision deployed
// or superseded since the last uninstall, else DeployTypeInstall): a retry after a failed
// first install is an install (.Release.IsInstall, install hooks, werf.io/deploy-on:
// install), where helm upgrade --install would upgrade the failed revision.
func (c *Client) deployMode(name string) (deployMode, error) {
	revs, err := c.cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) || (err == nil && len(revs) == 0) {
		return deployMode{install: true, revision: 1}, nil
	}
	if err != nil {
		return deployMode{}, fmt.Errorf("read history of release %q: %w", name, err)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	mode := modeAfter(revs)
	mode.revision = revs[len(revs)-1].Version + 1
	return mode, nil
}

// releaseRevisionTemplate sets .Release.Revision as the first action of a template. Every
// template of a chart tree is rendered with the same .Release map, so each one setting it
// first leaves nothing rendered with Helm's number, whatever the order of the templates. A
// template file included with another context (include "x/templates/cm.yaml" $ctx) sets
// nothing when that context has no such map.
const releaseRevisionTemplate = `{{- if kindIs "map" . }}{{- if typeIs "map[string]interface {}" .Release }}{{- $_ := set .Release "Revision" %d }}{{- end }}{{- end }}`

// renderedAsRevision is a copy of c (and of its subcharts) whose templates render
// .Release.Revision as revision: Helm's install renders 1 whatever number it stores. The
// action stores c itself (actionSettings.storedChart); the setting outputs nothing and adds
// no line, so template errors keep their line numbers.
func renderedAsRevision(c *chart.Chart, revision int) *chart.Chart {
	out := *c
	out.Templates = make([]*chart.File, len(c.Templates))
	prefix := fmt.Sprintf(releaseRevisionTemplate, revision)
	for i, t := range c.Templates {
		out.Templates[i] = &chart.File{Name: t.Name, Data: append([]byte(prefix), t.Data...)}
	}
	if deps := c.Dependencies(); len(deps) > 0 {
		copies := make([]*chart.Chart, len(deps))
		for i, dep := range deps {
			copies[i] = renderedAsRevision(dep, revision)
		}
		out.SetDependencies(copies...)
	}
	return &out
}

// modeAfter is deployMode for a history sorted oldest first. Only a newest revision Helm's
// install may replace (uninstalled, failed) turns into an install; any other status
// (uninstalling, unknown) is left to Helm's upgrade, as before.
func modeAfter(revs []*helmrelease.Release) deployMode {
	last := revs[len(revs)-1]
	switch last.Info.Status {
	case helmrelease.StatusUninstalled:
		return deployMode{install: true, replace: true}
	case helmrelease.StatusFailed:
		for i := len(revs) - 2; i >= 0; i-- {
			switch revs[i].Info.Status {
			case helmrelease.StatusDeployed, helmrelease.StatusSuperseded:
				return deployMode{}
			case helmrelease.StatusUninstalled, helmrelease.StatusUninstalling:
				return deployMode{install: true, replace: true, retried: last}
			}
		}
		return deployMode{install: true, replace: true, retried: last}
	}
	return deployMode{}
}

// ErrPlanOutdated is a deploy refused because what it would apply is not what was planned.
var ErrPlanOutdated = errors.New("the plan is outdated")

// ManifestDigest identifies rendered manifests: their sha256.
func ManifestDigest(manifests []byte) string {
	sum := sha256.Sum256(manifests)
	return hex.EncodeToString(sum[:])
}

func (req UpgradeRequest) digest(manifests []byte) (string, error) {
	if req.Digest == nil {
		return ManifestDigest(manifests), nil
	}
	return req.Digest(manifests)
}

// HooksManifest joins the hooks of a Release (its Hooks) into the one stream ExpectHooksDigest
// is computed over.
func HooksManifest(hooks []string) []byte { return []byte(strings.Join(hooks, "\n---\n")) }

// checkHooks refuses a revision about to be stored whose hooks are not the expected ones.
func (req UpgradeRequest) checkHooks(rel *helmrelease.Release) error {
	got, err := req.digest(HooksManifest(fromHelm(rel).Hooks))
	if err != nil {
		return err
	}
	if got != req.ExpectHooksDigest {
		return fmt.Errorf("%w: the chart renders other hooks than the plan reviewed (the chart, values, images or the cluster's lookups changed since); nothing was applied: make a new plan", ErrPlanOutdated)
	}
	return nil
}

// postRenderer transforms the rendered objects, keeps those werf.io/deploy-on allows in
// operation and checks them before Helm goes on: the digest a plan expects, werf.io/ownership (which may turn Helm's ownership check, through
// takeOwnership, into ours), the caller's preflight.
func (c *Client) postRenderer(req UpgradeRequest, operation string, takeOwnership *bool) postRenderer {
	expectDigest, preflight := req.ExpectDigest, req.Preflight
	transform := c.transform
	if transform == nil {
		transform = func(b []byte) ([]byte, error) { return b, nil }
	}
	return postRenderer{transform: func(b []byte) ([]byte, error) {
		out, err := transform(b)
		if err == nil {
			out, err = filterDeployOn(out, operation)
		}
		if err != nil {
			return nil, &renderRefusal{err}
		}
		if expectDigest != "" {
			got, err := req.digest(out)
			if err != nil {
				return nil, &renderRefusal{err}
			}
			if got != expectDigest {
				return nil, &renderRefusal{fmt.Errorf("%w: the chart renders other manifests than the plan reviewed (the chart, values, images or the cluster's lookups changed since); make a new plan", ErrPlanOutdated)}
			}
		}
		if err := c.checkOwnershipAnnotations(out, req.ReleaseName, req.ForceAdoption, takeOwnership); err != nil {
			return nil, &renderRefusal{err}
		}
		if preflight != nil {
			if err := preflight(out); err != nil {
				return nil, &renderRefusal{err}
			}
		}
		return out, nil
	}}
}

// renderRefusal is the post-renderer's own refusal of a render. Helm wraps it as "error while
// running post render on files", which tells the user nothing; the callers unwrap it (the
// error already names the chart file, the object or the plan).
type renderRefusal struct{ err error }

func (r *renderRefusal) Error() string { return r.err.Error() }
func (r *renderRefusal) Unwrap() error { return r.err }

// Last returns the newest revision of the release.
func (c *Client) Last(name string) (*Release, error) {
	rel, err := c.lastRevision(name)
	if err != nil {
		return nil, err
	}
	return fromHelm(rel), nil
}

// IsPending reports whether a revision status is one Helm leaves while an operation runs
// (pending-install, pending-upgrade, pending-rollback): left by a process that died, it
// blocks every later operation until recovered.
func IsPending(status string) bool {
	return helmrelease.Status(status).IsPending()
}

func (c *Client) lastRevision(name string) (*helmrelease.Release, error) {
	history := action.NewHistory(c.cfg)
	history.Max = 1
	revs, err := history.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("%w: %q in namespace %q", ErrReleaseNotFound, name, c.namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read history of release %q: %w", name, err)
	}
	if len(revs) == 0 {
		return nil, fmt.Errorf("%w: %q in namespace %q", ErrReleaseNotFound, name, c.namespace)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	return revs[len(revs)-1], nil
}

// RegisterReleaseSecrets registers the data of the Secrets of every stored revision of the
// release, hooks included, with the redactor, for operations that show cluster data without
// rendering (rollback, track): the release storage registers what it reads (drivers).
func (c *Client) RegisterReleaseSecrets(release string) {
	_, _ = c.History(release)
}

// History returns the release's revisions, oldest first.
func (c *Client) History(name string) ([]*Release, error) {
	history := action.NewHistory(c.cfg)
	revs, err := history.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) || (err == nil && len(revs) == 0) {
		return nil, fmt.Errorf("%w: %q in namespace %q", ErrReleaseNotFound, name, c.namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read history of release %q: %w", name, err)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	out := make([]*Release, 0, len(revs))
	for _, r := range revs {
		out = append(out, fromHelm(r))
	}
	return out, nil
}

// RollbackRequest describes a rollback of a release to an earlier revision.
type RollbackRequest struct {
	ReleaseName string
	// Revision to return to; zero means the newest revision before the current one that was
	// deployed successfully.
	Revision   int
	Wait       bool
	Timeout    time.Duration
	HistoryMax int
	// Applier applies the revision's objects and awaits its hooks; nil lets Helm do it.
	Applier Applier
	// KeepManualChanges: see UpgradeRequest.
	KeepManualChanges bool
}

// Rollback deploys the manifests of an earlier revision as a new revision.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (*Release, error) {
	revs, err := c.History(req.ReleaseName)
	if err != nil {
		return nil, err
	}
	target := req.Revision
	current := revs[len(revs)-1]
	if target == 0 {
		for i := len(revs) - 2; i >= 0; i-- {
			if revs[i].Status == StatusSuperseded || revs[i].Status == StatusDeployed {
				target = revs[i].Revision
				break
			}
		}
		if target == 0 {
			return nil, fmt.Errorf("release %q has no successfully deployed revision before revision %d to roll back to", req.ReleaseName, current.Revision)
		}
	}
	found := false
	for _, r := range revs {
		found = found || r.Revision == target
	}
	if !found {
		return nil, fmt.Errorf("release %q has no revision %d (it has %d to %d)", req.ReleaseName, target, revs[0].Revision, current.Revision)
	}
	cfg, _ := c.actionConfig(actionSettings{applier: req.Applier, keepManual: req.KeepManualChanges, historyMax: req.HistoryMax})
	rb := action.NewRollback(cfg)
	rb.Version = target
	rb.Wait = req.Wait
	rb.WaitForJobs = req.Wait
	rb.Timeout = req.Timeout
	rb.MaxHistory = req.HistoryMax
	if err := rb.Run(req.ReleaseName); err != nil {
		if last, lerr := c.lastRevision(req.ReleaseName); lerr == nil && last.Version > current.Revision {
			return fromHelm(last), err
		}
		return nil, err
	}
	last, err := c.lastRevision(req.ReleaseName)
	if err != nil {
		return nil, err
	}
	// Helm's rollback finished: the context ending now does not undo it.
	return fromHelm(last), nil
}

// UninstallRequest describes the removal of a release.
type UninstallRequest struct {
	ReleaseName string
	// Wait blocks until every deleted object is gone.
	Wait    bool
	Timeout time.Duration
	// HandBackRun returns the objects adopted by that run (an auto-rollback of a failed
	// first install) to their previous owners instead of deleting them.
	HandBackRun string
	// DeleteOrder splits the release's objects into waves deleted one after the other, each
	// once the previous wave is gone; nil deletes them all at once, as Helm does.
	DeleteOrder func(objects []*resource.Info) ([][]*resource.Info, error)
	// AwaitGone returns once a wave's objects are gone, or ctx ends (with an error naming
	// what is still there); it is required with DeleteOrder.
	AwaitGone func(ctx context.Context, objects []*resource.Info) error
	// KeepHooks leaves the hooks of the release in place, as Helm does (werf's
	// --with-hooks=false). Zero: once the release's objects are deleted and its post-delete
	// hooks ran, the hooks of every stored revision are deleted too, as werf's dismiss
	// deletes them (those kept by a resource policy or owned by anyone stay).
	KeepHooks bool
}

// Uninstall deletes the release's objects (keeping those annotated helm.sh/resource-policy:
// keep), runs its delete hooks and removes its history. It returns the release as it was.
func (c *Client) Uninstall(ctx context.Context, req UninstallRequest) (*Release, error) {
	cfg, kube := c.actionConfig(actionSettings{
		owner:       &ownership{release: req.ReleaseName, namespace: c.namespace, handBackRun: req.HandBackRun},
		deleteOrder: req.DeleteOrder, awaitGone: req.AwaitGone, deleteTimeout: req.Timeout, context: ctx,
	})
	var hooks []*helmrelease.Hook
	if !req.KeepHooks {
		hooks = releaseHooks(cfg.Releases, req.ReleaseName)
	}
	left := leftovers(cfg.Releases, req.ReleaseName)
	u := action.NewUninstall(cfg)
	u.Wait = req.Wait
	u.Timeout = req.Timeout
	u.DeletionPropagation = "foreground"
	res, err := u.Run(req.ReleaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("%w: %q in namespace %q", ErrReleaseNotFound, req.ReleaseName, c.namespace)
	}
	if err != nil && kube != nil && len(kube.deleteErrs) > 0 {
		// Helm says only "failed to delete release" and logs why.
		return nil, fmt.Errorf("uninstall release %q: %w (its revision stays %s: run dismiss again)", req.ReleaseName, errors.Join(kube.deleteErrs...), helmrelease.StatusUninstalling)
	}
	if err != nil {
		return nil, err
	}
	if res == nil || res.Release == nil {
		return nil, nil
	}
	out := fromHelm(res.Release)
	if kube == nil {
		return out, nil
	}
	out.DeletedLeftovers, err = kube.deleteLeftovers(left, res.Release.Manifest)
	if err != nil {
		out.Spared = kube.spared
		return out, fmt.Errorf("uninstall release %q: delete what its failed revisions left: %w (the release is uninstalled: delete them with kubectl)", req.ReleaseName, err)
	}
	out.DeletedHooks, err = kube.deleteHooks(hooks)
	out.Spared = kube.spared
	if err != nil {
		return out, fmt.Errorf("uninstall release %q: delete its hooks: %w (the release is uninstalled: delete them with kubectl)", req.ReleaseName, err)
	}
	return out, nil
}

// interruptGrace is how long Helm may go on after an interruption to record the failed
// revision before it is no longer waited for.
const interruptGrace = 5 * time.Second

// afterGrace returns a context that ends grace after ctx ends, unless returned is called
// first (once Helm returned). Returning never ends it: Helm's upgrade leaves a goroutine
// that marks the new revision failed when its context ends, and when that goroutine has not
// run yet as the upgrade returns (a loaded machine), ending the context then would mark a
// revision failed that Helm had just recorded deployed.
func afterGrace(ctx context.Context, grace time.Duration) (helmCtx context.Context, returned func()) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-done:
		}
	})
	return out, func() {
		stop()
		close(done)
	}
}

// failPending marks failed the newest revision of an interrupted run when Helm left it
// pending, and returns the revision as recorded (rel when nothing could be read).
func (c *Client) failPending(name string, rel *helmrelease.Release, cause error) *helmrelease.Release {
	last, err := c.lastRevision(name)
	if err != nil {
		return rel
	}
	if last.Info.Status.IsPending() {
		last.SetStatus(helmrelease.StatusFailed, fmt.Sprintf("Release %q interrupted: %v", name, cause))
		if c.cfg.Releases.Update(last) != nil {
			return rel
		}
	}
	if rel != nil && rel.Version != last.Version {
		return rel
	}
	return last
}

// MarkFailed records that a revision failed after Helm had stored it as deployed (our own
// tracking found it failing), so that helm history and rollback see the truth.
func (c *Client) MarkFailed(name string, revision int, description string) error {
	rel, err := c.cfg.Releases.Get(name, revision)
	if err != nil {
		return fmt.Errorf("read release %q revision %d: %w", name, revision, err)
	}
	rel.SetStatus(helmrelease.StatusFailed, description)
	if err := c.cfg.Releases.Update(rel); err != nil {
		return fmt.Errorf("mark release %q revision %d failed: %w", name, revision, err)
	}
	return nil
}

// List returns the names of the releases in the namespace, deployed or not, sorted.
func (c *Client) List() ([]string, error) {
	list := action.NewList(c.cfg)
	list.All = true
	list.SetStateMask()
	rels, err := list.Run()
	if err != nil {
		return nil, fmt.Errorf("list releases in namespace %q: %w", c.namespace, err)
	}
	names := make([]string, 0, len(rels))
	for _, r := range rels {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names, nil
}
