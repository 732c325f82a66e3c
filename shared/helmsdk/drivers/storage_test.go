package drivers

import (
	"encoding/base64"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
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
