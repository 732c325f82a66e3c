package helmsdk

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// memoryClient is a Client on Helm's memory storage with a kube client that applies nothing.
func memoryClient() *Client {
	return &Client{namespace: "ns", cfg: &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities,
		Log:          func(string, ...any) {},
	}}
}

func history(statuses ...release.Status) []*release.Release {
	out := make([]*release.Release, 0, len(statuses))
	for i, s := range statuses {
		out = append(out, &release.Release{Name: "app", Namespace: "ns", Version: i + 1, Info: &release.Info{Status: s}})
	}
	return out
}

// TestModeAfterDecidesAsNelm: an upgrade only when a revision since the last uninstall was
// deployed (nelm pkg/action/release_install.go, pkg/release/history.go FindAllDeployed).
func TestModeAfterDecidesAsNelm(t *testing.T) {
	const (
		deployed     = release.StatusDeployed
		superseded   = release.StatusSuperseded
		failed       = release.StatusFailed
		uninstalled  = release.StatusUninstalled
		uninstalling = release.StatusUninstalling
	)
	for _, tc := range []struct {
		name    string
		history []*release.Release
		want    deployMode
		retried int
	}{
		{"a failed first install", history(failed), deployMode{install: true, replace: true}, 1},
		{"two failed installs", history(failed, failed), deployMode{install: true, replace: true}, 2},
		{"a failed install after an uninstall", history(deployed, uninstalled, failed), deployMode{install: true, replace: true}, 3},
		{"a failed install after an interrupted uninstall", history(superseded, uninstalling, failed), deployMode{install: true, replace: true}, 3},
		{"uninstalled", history(deployed, uninstalled), deployMode{install: true, replace: true}, 0},
		{"a failed upgrade", history(deployed, failed), deployMode{}, 0},
		{"a failed upgrade after a superseded revision", history(superseded, failed, failed), deployMode{}, 0},
		{"deployed", history(superseded, deployed), deployMode{}, 0},
		{"uninstalling", history(deployed, uninstalling), deployMode{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := modeAfter(tc.history)
			retried := 0
			if got.retried != nil {
				retried = got.retried.Version
			}
			got.retried = nil
			if got != tc.want || retried != tc.retried {
				t.Fatalf("got %+v retrying revision %d, want %+v retrying revision %d", got, retried, tc.want, tc.retried)
			}
		})
	}
}

// TestRetryAfterFailedInstallRendersAnInstall deploys over a history Helm's upgrade --install
// would upgrade: the retry of a failed first install renders .Release.IsInstall, runs the
// pre-install hook and deploys werf.io/deploy-on: install objects; a failed upgrade stays an
// upgrade. Every template, a subchart's too, renders .Release.Revision as the number the
// revision is stored with, as helm upgrade --install and nelm render it (Helm's install
// renders 1), in the preview as in the deploy; the revision stores the chart as given.
func TestRetryAfterFailedInstallRendersAnInstall(t *testing.T) {
	sub := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "sub", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\ndata:\n  subRevision: \"{{ .Release.Revision }}\"\n")}},
	}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0"},
		Templates: []*chart.File{
			{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mode\ndata:\n  isInstall: \"{{ .Release.IsInstall }}\"\n  isUpgrade: \"{{ .Release.IsUpgrade }}\"\n  revision: \"{{ .Release.Revision }}\"\n")},
			// A template file included with a context of its own, as charts include a
			// file to checksum it.
			{Name: "templates/_checksummed.tpl", Data: []byte("{{ . }}")},
			{Name: "templates/checksum.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checksum\ndata:\n  sum: {{ include \"app/templates/_checksummed.tpl\" \"text\" | sha256sum }}\n  dict: {{ include \"app/templates/_checksummed.tpl\" (dict \"Release\" \"text\") | sha256sum }}\n")},
			{Name: "templates/seed.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seed\n  annotations:\n    werf.io/deploy-on: install\n")},
			{Name: "templates/hooks.yaml", Data: []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: on-install\n  annotations:\n    helm.sh/hook: pre-install\n---\n" +
				"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: on-upgrade\n  annotations:\n    helm.sh/hook: pre-upgrade\n")},
		},
	}
	ch.SetDependencies(sub)
	templates := map[string]string{}
	for _, c := range []*chart.Chart{ch, sub} {
		for _, f := range c.Templates {
			templates[c.Name()+"/"+f.Name] = string(f.Data)
		}
	}
	for _, tc := range []struct {
		name     string
		history  []*release.Release
		install  bool
		revision int
	}{
		{"after a failed first install", history(release.StatusFailed), true, 2},
		{"after two failed installs", history(release.StatusFailed, release.StatusFailed), true, 3},
		{"after a failed upgrade", history(release.StatusSuperseded, release.StatusFailed), false, 3},
		{"a first install", nil, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := memoryClient()
			for _, r := range tc.history {
				r.Chart = ch
				r.Config = map[string]any{}
				if err := c.cfg.Releases.Create(r); err != nil {
					t.Fatal(err)
				}
			}
			pv, err := c.Preview(context.Background(), UpgradeRequest{ReleaseName: "app", Chart: charts.FromHelm(ch), Values: map[string]any{}, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if pv.Install != tc.install {
				t.Fatalf("the preview calls it an install: %v, want %v", pv.Install, tc.install)
			}
			revisionLines := []string{fmt.Sprintf(`  revision: "%d"`, tc.revision), fmt.Sprintf(`  subRevision: "%d"`, tc.revision)}
			for _, line := range revisionLines {
				if !strings.Contains(pv.Release.Manifest, line) {
					t.Errorf("the preview does not render %q:\n%s", line, pv.Release.Manifest)
				}
			}
			if pv.Release.Revision != tc.revision {
				t.Errorf("the preview's revision %d, want %d", pv.Release.Revision, tc.revision)
			}
			got, err := c.UpgradeOrInstall(context.Background(), UpgradeRequest{ReleaseName: "app", Chart: charts.FromHelm(ch), Values: map[string]any{}, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != tc.revision || got.Status != StatusDeployed {
				t.Fatalf("revision %d %s, want revision %d deployed", got.Revision, got.Status, tc.revision)
			}
			for _, line := range revisionLines {
				if !strings.Contains(got.Manifest, line) {
					t.Errorf("the deploy does not render %q:\n%s", line, got.Manifest)
				}
			}
			wantLine := `isInstall: "false"`
			if tc.install {
				wantLine = `isInstall: "true"`
			}
			if !strings.Contains(got.Manifest, wantLine) {
				t.Fatalf("the manifest does not say %s:\n%s", wantLine, got.Manifest)
			}
			if strings.Contains(got.Manifest, "name: seed") != tc.install {
				t.Fatalf("the werf.io/deploy-on: install object is deployed: %v, want %v:\n%s", !tc.install, tc.install, got.Manifest)
			}
			stored, err := c.cfg.Releases.Get("app", tc.revision)
			if err != nil {
				t.Fatal(err)
			}
			storedTemplates := map[string]string{}
			for _, c := range []*chart.Chart{stored.Chart, stored.Chart.Dependencies()[0]} {
				for _, f := range c.Templates {
					if f.Name != charts.SecretFileHelperTemplate {
						storedTemplates[c.Name()+"/"+f.Name] = string(f.Data)
					}
				}
			}
			if !reflect.DeepEqual(storedTemplates, templates) {
				t.Errorf("the revision stores the templates\n%v\nwant the chart's\n%v", storedTemplates, templates)
			}
			ran := map[string]bool{}
			for _, h := range stored.Hooks {
				ran[h.Name] = !h.LastRun.StartedAt.IsZero()
			}
			if ran["on-install"] != tc.install || ran["on-upgrade"] == tc.install {
				t.Fatalf("hooks run: %v, want the pre-install hook only on an install", ran)
			}
			for v := 1; tc.install && v < tc.revision; v++ {
				before, err := c.cfg.Releases.Get("app", v)
				if err != nil {
					t.Fatal(err)
				}
				if before.Info.Status != release.StatusFailed {
					t.Fatalf("failed revision %d is now %s: an install leaves it failed", v, before.Info.Status)
				}
			}
		})
	}
}

// TestRenderErrorRecordsNothing: a chart that does not render fails the install before Helm
// stores a revision; the failed release Helm returns is not one the caller may roll back.
func TestRenderErrorRecordsNothing(t *testing.T) {
	broken := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("{{ .Values.x | nosuchfunction }}\n")}},
	}
	for _, tc := range []struct {
		name    string
		history []*release.Release
	}{
		{"a first install", nil},
		{"a retry after a failed first install", history(release.StatusFailed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := memoryClient()
			for _, r := range tc.history {
				r.Chart, r.Config = broken, map[string]any{}
				if err := c.cfg.Releases.Create(r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.UpgradeOrInstall(context.Background(), UpgradeRequest{ReleaseName: "app", Chart: charts.FromHelm(broken), Values: map[string]any{}, Timeout: time.Minute})
			if err == nil || got != nil {
				t.Fatalf("got release %+v, error %v; want no release and the render error", got, err)
			}
			revs, _ := c.cfg.Releases.History("app")
			if len(revs) != len(tc.history) {
				t.Fatalf("%d revisions stored, want %d", len(revs), len(tc.history))
			}
		})
	}
}
