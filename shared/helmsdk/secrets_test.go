package helmsdk

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-converge/converge/shared/redact"
)

// secretRuns numbers the runs of the tests that register a secret.
var secretRuns atomic.Int64

// TestHistoryRegistersHookSecrets: reading a release through the client, as rollback and
// track do before anything runs or prints (and as Helm's rollback and uninstall do before
// their hooks), registers the Secrets of every revision's hooks with the redactor, not only
// those of its manifest.
func TestHistoryRegistersHookSecrets(t *testing.T) {
	// Registered secrets stay registered for the process: each run (go test -count=N) has
	// its own.
	hookSecret := fmt.Sprintf("hook-token-%d-SECRETMARKER-rollback", secretRuns.Add(1))
	releases := filepath.Join(t.TempDir(), "releases.yaml")
	data := `- name: app
  namespace: default
  version: 1
  info: {status: deployed}
  chart: {metadata: {name: app, version: 0.1.0}}
  manifest: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: app}
  hooks:
  - name: pre-rollback-token
    kind: Secret
    path: app/templates/hook.yaml
    events: [pre-rollback]
    manifest: |
      apiVersion: v1
      kind: Secret
      metadata:
        name: pre-rollback-token
        annotations: {helm.sh/hook: pre-rollback}
      stringData: {token: ` + hookSecret + `}
`
	if err := os.WriteFile(releases, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HELM_MEMORY_DRIVER_DATA", releases)
	client, err := NewClient(Config{Getter: genericclioptions.NewConfigFlags(false), Namespace: "default", Driver: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	if got := redact.String(hookSecret); got != hookSecret {
		t.Fatalf("registered before the release was read: %q", got)
	}
	// What Client.History and Helm's actions read through (History itself first asks the
	// API server, which this test has not).
	if _, err := client.cfg.Releases.History("app"); err != nil {
		t.Fatal(err)
	}
	if got := redact.String("hook log: " + hookSecret); got != "hook log: "+redact.Mask {
		t.Fatalf("after reading the release the hook's Secret prints as %q", got)
	}
}
