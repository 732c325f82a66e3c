package deploy

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/manifest"
)

// ConvergeOptions tune one converge.
type ConvergeOptions struct {
	// Timeout bounds the whole deploy; zero means 5 minutes.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
	// CreateNamespace creates the release namespace when it does not exist.
	CreateNamespace bool
}

// Resource names one object of a release.
type Resource struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Result is what a converge did.
type Result struct {
	Release   *helmsdk.Release `json:"release"`
	Resources []Resource       `json:"resources"`
	Duration  time.Duration    `json:"-"`
}

// Converge installs or upgrades the prepared release and waits until it is ready.
func Converge(ctx context.Context, client *helmsdk.Client, p *Prepared, opts ConvergeOptions) (*Result, error) {
	start := time.Now()
	rel, err := client.UpgradeOrInstall(ctx, helmsdk.UpgradeRequest{
		ReleaseName:     p.ReleaseName,
		Chart:           p.Chart,
		Values:          p.Values,
		CreateNamespace: opts.CreateNamespace,
		Wait:            true,
		Timeout:         opts.Timeout,
		HistoryMax:      opts.HistoryMax,
	})
	if err != nil {
		return nil, ClassifyDeployError(err)
	}
	return &Result{Release: rel, Resources: Resources(rel.Manifest), Duration: time.Since(start)}, nil
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
