package inject

import (
	"strings"
	"testing"
)

// FuzzImageFlags feeds arbitrary --image and --rewrite-image values: a parsed reference
// prints back to what was given, its normalized name is stable, errors name the flag value, nothing panics.
func FuzzImageFlags(f *testing.F) {
	for _, seed := range []string{"web=registry.example.com/shop/web:1.0", "db=postgres@sha256:abc", "x=", "=y", "web=a b", "nginx=mirror/nginx:1", "a=localhost:5000/x:1@sha256:0", "web=:tag", "web=/x",
		"db=postgres@sha256:" + hexA, "x=index.docker.io/library/nginx:1", "nginx=NGINX", "docker.io/nginx=localhost:5000/nginx", "a=registry-1.docker.io/b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, item string) {
		images, err := ParseImageFlags([]string{item})
		if err == nil {
			for name, ref := range images {
				r, perr := ParseRef(ref)
				if perr != nil {
					t.Fatalf("--image %q accepted %s=%q, which does not parse: %v", item, name, ref, perr)
				}
				if r.String() != ref {
					t.Fatalf("reference %q prints back as %q", ref, r.String())
				}
				if n, err := ParseRef(r.Name()); err != nil || n.Name() != r.Name() {
					t.Fatalf("the name %q of %q does not parse to itself: %q, %v", r.Name(), ref, n.Name(), err)
				}
			}
		}
		if _, err := ParseRewrites([]string{item}); err != nil && !strings.Contains(err.Error(), "rewrite") && !strings.Contains(err.Error(), "image") {
			t.Fatalf("--rewrite-image %q: error names neither the flag nor the image: %v", item, err)
		}
	})
}
