package helmsdk

import (
	"context"
	"fmt"
	"path"
	"runtime/debug"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// RenderRequest describes an offline render of a chart, as helm template does.
type RenderRequest struct {
	ReleaseName string
	Namespace   string
	Chart       *charts.Chart
	// Values are rendered as given: Helm does not check them against values.schema.json,
	// the caller does (inputs.Prepare, without werf's service values).
	Values map[string]any
	// KubeVersion is the version .Capabilities.KubeVersion reports; "" means the version of
	// the Kubernetes client libraries this binary is built with.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions.
	APIVersions []string
	// ShowOnly keeps only the documents rendered from these chart-relative template paths
	// (e.g. templates/deployment.yaml); empty keeps everything.
	ShowOnly []string
	// Transform is applied to the whole output, hooks and CRDs included.
	Transform Transform
}

// Render returns the manifests of the chart, CRDs and hooks included, without a cluster.
func Render(ctx context.Context, req RenderRequest) (string, error) {
	cfg := &action.Configuration{}
	install := action.NewInstall(cfg)
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	// The caller validated the values against values.schema.json without the service values
	// (inputs.Prepare): Helm would check them with, and a strict schema refuses werf's keys.
	install.SkipSchemaValidation = true
	install.ReleaseName = req.ReleaseName
	install.Namespace = req.Namespace
	install.APIVersions = chartutil.VersionSet(req.APIVersions)
	kubeVersion := req.KubeVersion
	if kubeVersion == "" {
		kubeVersion = DefaultKubeVersion()
	}
	if kubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(kubeVersion)
		if err != nil {
			return "", fmt.Errorf("--kube-version %q: %w", req.KubeVersion, err)
		}
		install.KubeVersion = kv
	}
	rel, err := install.RunWithContext(ctx, req.Chart.Helm(), req.Values)
	if err != nil {
		return "", helmError(err)
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rel.Manifest))
	for _, h := range rel.Hooks {
		b.WriteString("\n---\n# Source: " + h.Path + "\n" + strings.TrimSpace(h.Manifest))
	}
	out := b.String() + "\n"
	if len(req.ShowOnly) > 0 {
		kept, err := showOnly(out, req.Chart.Name(), req.ShowOnly)
		if err != nil {
			return "", err
		}
		out = kept
	}
	if req.Transform != nil {
		transformed, err := req.Transform([]byte(out))
		if err != nil {
			return "", err
		}
		out = string(transformed)
	}
	return out, nil
}

func showOnly(rendered, chartName string, wanted []string) (string, error) {
	want := map[string]bool{}
	for _, w := range wanted {
		want[path.Clean(w)] = true
	}
	seen := map[string]bool{}
	var kept []string
	for _, doc := range strings.Split(rendered, "\n---\n") {
		source := ""
		for _, line := range strings.Split(doc, "\n") {
			if strings.HasPrefix(line, "# Source:") {
				source = sourcePath(line, chartName)
				break
			}
		}
		if want[source] {
			seen[source] = true
			kept = append(kept, strings.TrimSpace(doc))
		}
	}
	for _, w := range wanted {
		if !seen[path.Clean(w)] {
			return "", fmt.Errorf("--show-only %q: no template of chart %q rendered an object from that path", w, chartName)
		}
	}
	return strings.Join(kept, "\n---\n") + "\n", nil
}

// sourcePath is the chart-relative template path named by a "# Source: CHART/PATH" comment.
func sourcePath(sourceComment, chartName string) string {
	p := strings.TrimSpace(strings.TrimPrefix(sourceComment, "# Source:"))
	return strings.TrimPrefix(path.Clean(p), chartName+"/")
}

// DefaultKubeVersion is the Kubernetes version matching the client libraries this binary is
// built with (k8s.io/client-go v0.37.2 is Kubernetes v1.37.2); "" when unknown.
func DefaultKubeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/client-go" && strings.HasPrefix(dep.Version, "v0.") {
			return "v1." + strings.TrimPrefix(dep.Version, "v0.")
		}
	}
	return ""
}
