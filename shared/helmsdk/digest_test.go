package helmsdk

import (
	"strings"
	"testing"
)

// TestManifestDigest: a keyed digest cannot be computed without its key, so a saved plan
// does not let anyone confirm a guessed secret by hashing candidate manifests.
func TestManifestDigest(t *testing.T) {
	manifests := []byte("kind: Secret\nstringData: {password: guess-me}\n")
	plain := ManifestDigest(nil, manifests)
	a, b := ManifestDigest([]byte("key-a"), manifests), ManifestDigest([]byte("key-b"), manifests)
	if a == plain || a == b || !strings.HasPrefix(a, "hmac-sha256:") {
		t.Fatalf("plain %s, keyed %s and %s: keyed digests must differ from the plain one and by key", plain, a, b)
	}
	if ManifestDigest([]byte("key-a"), manifests) != a {
		t.Fatal("the keyed digest is not stable")
	}
}
