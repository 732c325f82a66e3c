package giterm

import (
	"os"
	"path/filepath"
	"testing"
)

// TestForbiddenLinkTargetKeyFile: a link resolving to the file --secret-key-file names is
// refused whatever the file is called, as .werf_secret_key and .git/ are.
func TestForbiddenLinkTargetKeyFile(t *testing.T) {
	root := t.TempDir()
	keyFile := filepath.Join(root, "ci", "deploy.key")
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ForbidSecretKeyFile(filepath.Join(root, "ci", "..", "ci", "deploy.key"))
	real, err := filepath.EvalSymlinks(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ resolved, want string }{
		{real, "a secret key file"},
		{filepath.Join(root, ".werf_secret_key"), "a secret key file"},
		{filepath.Join(root, ".git", "config"), "the .git directory"},
		{filepath.Join(root, "ci", "other"), ""},
	} {
		if got := ForbiddenLinkTarget(root, tc.resolved); got != tc.want {
			t.Errorf("ForbiddenLinkTarget(%s) = %q, want %q", tc.resolved, got, tc.want)
		}
	}
}
