package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/manifest"
	"github.com/kubectl-converge/converge/shared/track"
)

// ConvergeOptions tune one converge.
type ConvergeOptions struct {
	// Timeout bounds the whole deploy, tracking included; zero means 5 minutes.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
	// CreateNamespace creates the release namespace when it does not exist.
	CreateNamespace bool
	// Track follows the deployed objects until they are ready or fail.
	Track track.Options
	// Sink receives the tracking events; nil discards them.
	Sink track.Sink
}

// DefaultTimeout bounds a deploy when ConvergeOptions.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

func (o ConvergeOptions) timeout() time.Duration {
	if o.Timeout == 0 {
		return DefaultTimeout
	}
	return o.Timeout
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
	Duration  time.Duration        `json:"-"`
}

// Converge installs or upgrades the prepared release, then tracks its objects until they are
// ready. A failed or timed-out tracking marks the revision failed.
func Converge(ctx context.Context, client *helmsdk.Client, clients track.Clients, p *Prepared, opts ConvergeOptions) (*Result, error) {
	start := time.Now()
	timeout := opts.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rel, err := client.UpgradeOrInstall(ctx, helmsdk.UpgradeRequest{
		ReleaseName:     p.ReleaseName,
		Chart:           p.Chart,
		Values:          p.Values,
		CreateNamespace: opts.CreateNamespace,
		Wait:            false,
		Timeout:         timeout,
		HistoryMax:      opts.HistoryMax,
		Description:     description(p),
	})
	if err != nil {
		return nil, ClassifyDeployError(err)
	}
	res := &Result{Release: rel, Resources: Resources(rel.Manifest)}
	return res, trackRelease(ctx, client, clients, res, p.Namespace, opts, start, timeout)
}

func description(p *Prepared) string {
	if p.Commit == "" {
		return ""
	}
	return "Deployed from git commit " + p.Commit
}

// trackRelease follows the objects of the release's revision; when they fail or time out
// it marks the revision failed and returns the error with its exit code.
func trackRelease(ctx context.Context, client *helmsdk.Client, clients track.Clients, res *Result, namespace string, opts ConvergeOptions, start time.Time, timeout time.Duration) error {
	rel := res.Release
	targets, err := Targets(rel.Manifest, namespace, clients.Mapper)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeDeployFailed, err)
	}
	sink := opts.Sink
	if sink == nil {
		sink = func(track.Event) {}
	}
	trackOpts := opts.Track
	trackOpts.Since = start
	tracked, err := track.Track(ctx, clients, targets, trackOpts, sink)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeDeployFailed, err)
	}
	res.Tracking = tracked.Objects
	res.Duration = time.Since(start)
	terr := tracked.Err()
	if terr == nil {
		return nil
	}
	code := exitcode.CodeDeployFailed
	if len(tracked.Failed()) == 0 {
		code = exitcode.CodeTimeout
		terr = fmt.Errorf("timed out after %s: %w", timeout, terr)
	}
	if merr := client.MarkFailed(rel.Name, rel.Revision, "tracking: "+terr.Error()); merr != nil {
		terr = errors.Join(terr, merr)
	}
	rel.Status = helmsdk.StatusFailed
	return exitcode.Wrap(code, terr)
}

// RollbackRequest says which revision to return to.
type RollbackRequest struct {
	ReleaseName string
	Namespace   string
	// Revision is the revision to deploy again; zero means the previous successful one.
	Revision int
}

// Rollback deploys an earlier revision again as a new revision and tracks it like a converge.
func Rollback(ctx context.Context, client *helmsdk.Client, clients track.Clients, req RollbackRequest, opts ConvergeOptions) (*Result, error) {
	start := time.Now()
	timeout := opts.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rel, err := client.Rollback(ctx, helmsdk.RollbackRequest{ReleaseName: req.ReleaseName, Revision: req.Revision, Wait: false, Timeout: timeout, HistoryMax: opts.HistoryMax})
	if err != nil {
		if errors.Is(err, helmsdk.ErrReleaseNotFound) {
			return nil, err
		}
		return nil, ClassifyDeployError(err)
	}
	res := &Result{Release: rel, Resources: Resources(rel.Manifest)}
	return res, trackRelease(ctx, client, clients, res, req.Namespace, opts, start, timeout)
}

// DismissRequest says which release to uninstall.
type DismissRequest struct {
	ReleaseName string
	Namespace   string
	Timeout     time.Duration
}

// Dismiss uninstalls the release (delete hooks run, objects with helm.sh/resource-policy:
// keep stay) and tracks its objects until they are gone.
func Dismiss(ctx context.Context, client *helmsdk.Client, clients track.Clients, req DismissRequest, sink track.Sink) (*helmsdk.Release, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	rel, err := client.Uninstall(helmsdk.UninstallRequest{ReleaseName: req.ReleaseName, Wait: false, Timeout: req.Timeout})
	if err != nil || rel == nil {
		return rel, err
	}
	targets, err := Targets(removedObjects(rel.Manifest), req.Namespace, clients.Mapper)
	if err != nil {
		return rel, err
	}
	if sink == nil {
		sink = func(track.Event) {}
	}
	opts := track.DefaultOptions()
	opts.Deletion, opts.PodLogs, opts.Since = true, false, start
	tracked, err := track.Track(ctx, clients, targets, opts, sink)
	if err != nil {
		return rel, err
	}
	if terr := tracked.Err(); terr != nil {
		return rel, exitcode.Wrap(exitcode.CodeTimeout, fmt.Errorf("objects still there after %s: %w", req.Timeout, terr))
	}
	return rel, nil
}

// removedObjects drops from a manifest the objects Helm keeps on uninstall.
func removedObjects(rendered string) string {
	objs, err := manifest.Parse([]byte(rendered))
	if err != nil {
		return rendered
	}
	var kept []*manifest.Object
	for _, o := range objs {
		if o.Root != nil && o.Annotations()["helm.sh/resource-policy"] != "keep" {
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

// ClassifyDeployError gives a failed deploy its exit code: timeouts apart from other failures.
func ClassifyDeployError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out waiting for the condition") || strings.Contains(err.Error(), "context deadline exceeded") {
		return exitcode.Wrap(exitcode.CodeTimeout, err)
	}
	return exitcode.Wrap(exitcode.CodeDeployFailed, err)
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
