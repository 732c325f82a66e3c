// Package testutil holds checks the unit tests of several packages share.
package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFiles writes files (slash paths relative to dir, and their contents) below dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ExpectError checks a table case's error: with want set, err must contain it, and the case
// is done (true); without, err must be nil and the case goes on (false).
func ExpectError(t testing.TB, err error, want string) (done bool) {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one containing %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}
