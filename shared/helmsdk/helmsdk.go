// Package helmsdk is the only place that calls the Helm SDK. Everything else works with the
// types declared here, so moving from helm.sh/helm/v3 to helm.sh/helm/v4 changes this package
// and nothing outside it.
package helmsdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Config says which cluster, namespace and release storage a Client works with.
type Config struct {
	// Getter resolves the cluster connection, as kubectl's ConfigFlags or Helm's settings do.
	Getter genericclioptions.RESTClientGetter
	// Namespace holds the release records and every namespaced object without its own namespace.
	Namespace string
	// Driver is the release storage: "" or "secret" (the default), "configmap", "memory" or "sql".
	Driver string
	// Debugf receives Helm's debug messages; nil discards them.
	Debugf func(format string, args ...any)
}

// Client runs release actions in one namespace.
type Client struct {
	cfg       *action.Configuration
	namespace string
}

// NewClient connects the Helm action configuration to the cluster described by c.
func NewClient(c Config) (*Client, error) {
	debugf := c.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(c.Getter, c.Namespace, c.Driver, debugf); err != nil {
		return nil, fmt.Errorf("initialize release storage %q in namespace %q: %w", c.Driver, c.Namespace, err)
	}
	// Objects without metadata.namespace must land in the release namespace, not in the
	// kubeconfig context's namespace.
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		kc.Namespace = c.Namespace
	}
	return &Client{cfg: cfg, namespace: c.Namespace}, nil
}

// Chart is a loaded chart, ready to render or deploy.
type Chart struct {
	chart *chart.Chart
}

// LoadChart loads a chart from a directory or a packaged archive.
func LoadChart(path string) (*Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("load chart %q: %w", path, err)
	}
	return &Chart{chart: ch}, nil
}

// Name is the chart's name from Chart.yaml.
func (c *Chart) Name() string { return c.chart.Name() }

// Version is the chart's version from Chart.yaml.
func (c *Chart) Version() string { return c.chart.Metadata.Version }

// ValueSources are the user's values in Helm's order of precedence, lowest first.
type ValueSources struct {
	Files      []string
	Set        []string
	SetString  []string
	SetFile    []string
	SetJSON    []string
	SetLiteral []string
}

// MergeValues reads and merges the values the way helm install does.
func MergeValues(src ValueSources) (map[string]any, error) {
	opts := values.Options{
		ValueFiles:    src.Files,
		Values:        src.Set,
		StringValues:  src.SetString,
		FileValues:    src.SetFile,
		JSONValues:    src.SetJSON,
		LiteralValues: src.SetLiteral,
	}
	return opts.MergeValues(getter.All(cli.New()))
}

// UpgradeRequest describes one install-or-upgrade of a release.
type UpgradeRequest struct {
	ReleaseName string
	Chart       *Chart
	Values      map[string]any
	// CreateNamespace creates the release namespace when the release is installed.
	CreateNamespace bool
	// Wait blocks until the release's resources are ready, as helm --wait does.
	Wait bool
	// Timeout bounds each Kubernetes operation and the wait; zero means 5 minutes.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
}

// Release is the outcome of a release action.
type Release struct {
	Name         string
	Namespace    string
	Revision     int
	Status       string
	ChartName    string
	ChartVersion string
	Notes        string
	Manifest     string
}

// UpgradeOrInstall installs the release when it does not exist (or was uninstalled with its
// history kept) and upgrades it otherwise, as helm upgrade --install does.
func (c *Client) UpgradeOrInstall(ctx context.Context, req UpgradeRequest) (*Release, error) {
	timeout := req.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	history := action.NewHistory(c.cfg)
	history.Max = 1
	last, err := history.Run(req.ReleaseName)
	notFound := errors.Is(err, driver.ErrReleaseNotFound)
	if err != nil && !notFound {
		return nil, fmt.Errorf("read history of release %q: %w", req.ReleaseName, err)
	}
	uninstalled := len(last) > 0 && last[len(last)-1].Info.Status == helmrelease.StatusUninstalled
	c.cfg.Releases.MaxHistory = req.HistoryMax
	var rel *helmrelease.Release
	if notFound || uninstalled {
		install := action.NewInstall(c.cfg)
		install.ReleaseName = req.ReleaseName
		install.Namespace = c.namespace
		install.CreateNamespace = req.CreateNamespace
		install.Wait = req.Wait
		install.Timeout = timeout
		install.Replace = uninstalled
		rel, err = install.RunWithContext(ctx, req.Chart.chart, req.Values)
	} else {
		upgrade := action.NewUpgrade(c.cfg)
		upgrade.Namespace = c.namespace
		upgrade.Wait = req.Wait
		upgrade.Timeout = timeout
		rel, err = upgrade.RunWithContext(ctx, req.ReleaseName, req.Chart.chart, req.Values)
	}
	if err != nil {
		return nil, err
	}
	return fromHelm(rel), nil
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
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		out.ChartName = rel.Chart.Metadata.Name
		out.ChartVersion = rel.Chart.Metadata.Version
	}
	return out
}
