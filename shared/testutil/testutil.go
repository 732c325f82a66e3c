// Package testutil holds checks the unit tests of several packages share.
package testutil

import (
	"strings"
	"testing"
)

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
