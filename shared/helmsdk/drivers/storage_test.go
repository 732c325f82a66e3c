package drivers

import (
	"encoding/base64"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/redact"
)

// TestSecretFreeStorage runs Helm's install and two upgrades through the storage as the
// helmsdk client sets it up (SecretFree underneath every action, StoredValues per action when
// values held secrets): no revision stores a decrypted file, and every revision keeps the
// values it was written with when the next upgrade marks it superseded.
func TestSecretFreeStorage(t *testing.T) {
	const plain = "file-plaintext-SECRETMARKER"
	tests := []struct {
		name         string
		secretValues bool
	}{
		{name: "secret files only"},
		{name: "secret values and files", secretValues: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared := SecretFree(driver.NewMemory())
			deploy := func(revision int) {
				t.Helper()
				cfg := &action.Configuration{
					Releases:     storage.Init(shared),
					KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
					Capabilities: chartutil.DefaultCapabilities,
					Log:          func(string, ...any) {},
				}
				rendered := map[string]any{"greeting": fmt.Sprint("rev", revision)}
				if tt.secretValues {
					rendered["password"] = "pw-SECRETMARKER"
					cfg.Releases = storage.Init(StoredValues(shared, map[string]any{"greeting": fmt.Sprint("rev", revision)}))
				}
				ch := &chart.Chart{
					Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "0.1.0"},
					Templates: []*chart.File{
						{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {file: {{ include \"werf_secret_file\" \"f\" | quote }}}\n")},
						{Name: charts.SecretFileHelperTemplate, Data: []byte(`{{- define "werf_secret_file" -}}{{ "` + base64.StdEncoding.EncodeToString([]byte(plain)) + `" | b64dec }}{{- end -}}`)},
					},
				}
				var err error
				if revision == 1 {
					install := action.NewInstall(cfg)
					install.ReleaseName, install.Namespace = "app", "default"
					_, err = install.Run(ch, rendered)
				} else {
					upgrade := action.NewUpgrade(cfg)
					upgrade.Namespace = "default"
					_, err = upgrade.Run("app", ch, rendered)
				}
				if err != nil {
					t.Fatalf("revision %d: %v", revision, err)
				}
			}
			for revision := 1; revision <= 3; revision++ {
				deploy(revision)
			}
			history, err := storage.Init(shared).History("app")
			if err != nil || len(history) != 3 {
				t.Fatalf("history: %d revisions, %v", len(history), err)
			}
			for _, rls := range history {
				for _, tpl := range rls.Chart.Templates {
					if strings.Contains(string(tpl.Data), base64.StdEncoding.EncodeToString([]byte(plain))) || strings.Contains(string(tpl.Data), plain) {
						t.Errorf("revision %d stores the decrypted file in %s", rls.Version, tpl.Name)
					}
				}
				if !strings.Contains(rls.Manifest, plain) {
					t.Errorf("revision %d: the manifest lacks what the template rendered", rls.Version)
				}
				want := map[string]any{"greeting": fmt.Sprint("rev", rls.Version)}
				if tt.secretValues {
					if !reflect.DeepEqual(rls.Config, want) {
						t.Errorf("revision %d stores values %v, want %v", rls.Version, rls.Config, want)
					}
				} else if rls.Config["greeting"] != want["greeting"] {
					t.Errorf("revision %d stores values %v, want greeting %v", rls.Version, rls.Config, want["greeting"])
				}
			}
		})
	}
}

// secretRuns numbers the runs of the tests that register a secret.
var secretRuns atomic.Int64

// TestReadRevisionsRegisterTheirSecrets: reading a release registers the Secrets of its
// manifest and of its hooks, whichever read (Get, List, Query) a command makes.
func TestReadRevisionsRegisterTheirSecrets(t *testing.T) {
	reads := []struct {
		name string
		read func(driver.Driver) error
	}{
		{name: "get", read: func(d driver.Driver) error { _, err := d.Get("sh.helm.release.v1.app.v1"); return err }},
		{name: "list", read: func(d driver.Driver) error {
			_, err := d.List(func(*release.Release) bool { return true })
			return err
		}},
		{name: "query", read: func(d driver.Driver) error { _, err := d.Query(map[string]string{"name": "app"}); return err }},
	}
	for _, tt := range reads {
		t.Run(tt.name, func(t *testing.T) {
			// Registered secrets stay registered for the process: each run (go test
			// -count=N) has its own.
			run := secretRuns.Add(1)
			hookSecret := fmt.Sprintf("hook-%s-%d-SECRETMARKER", tt.name, run)
			manifestSecret := fmt.Sprintf("manifest-%s-%d-SECRETMARKER", tt.name, run)
			mem := driver.NewMemory()
			rls := &release.Release{Name: "app", Namespace: "default", Version: 1,
				Info:     &release.Info{Status: release.StatusDeployed},
				Manifest: "---\n# Source: app/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {v: " + base64.StdEncoding.EncodeToString([]byte(manifestSecret)) + "}\n",
				Hooks: []*release.Hook{{Name: "h", Kind: "Secret", Path: "app/templates/h.yaml",
					Manifest: "apiVersion: v1\nkind: Secret\nmetadata: {name: h}\nstringData: {v: " + hookSecret + "}\n"}},
			}
			if err := mem.Create("sh.helm.release.v1.app.v1", rls); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{hookSecret, manifestSecret} {
				if redact.String(s) != s {
					t.Fatalf("%s registered before the read", s)
				}
			}
			if err := tt.read(SecretsRegistered(mem)); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{hookSecret, manifestSecret} {
				if got := redact.String("log: " + s); got != "log: "+redact.Mask {
					t.Errorf("after the read, %q prints as %q", s, got)
				}
			}
		})
	}
}
