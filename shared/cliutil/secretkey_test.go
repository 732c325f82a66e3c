package cliutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/redact"
)

// TestDeployInputsRegisterTheSecretKey: the secret key from $WERF_SECRET_KEY and from
// --secret-key-file is masked in output as soon as the flags are read, whatever the chart
// holds (a chart without secrets never decrypts, yet a link or a log may show the key), and a
// chart link to the --secret-key-file is refused whatever its name.
func TestDeployInputsRegisterTheSecretKey(t *testing.T) {
	const fromEnv, fromFile = "e0c1a2b3d4e5f60718293a4b5c6d7e8f", "f1d2c3b4a5968778695a4b3c2d1e0f9a"
	t.Setenv("WERF_SECRET_KEY", fromEnv)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(fromFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &DeployFlags{SecretKeyFile: keyFile}
	if _, err := f.Inputs(filepath.Join(t.TempDir(), "chart"), t.TempDir(), "ns", ""); err != nil {
		t.Fatal(err)
	}
	if why := giterm.ForbiddenLinkTarget(filepath.Dir(keyFile), keyFile); why != "a secret key file" {
		t.Errorf("a chart link to --secret-key-file %s is allowed (%q)", keyFile, why)
	}
	for _, key := range []string{fromEnv, fromFile} {
		if got := redact.String("key: " + key); got == "key: "+key {
			t.Errorf("the secret key %s is not masked: %q", key[:4], got)
		}
	}
}
