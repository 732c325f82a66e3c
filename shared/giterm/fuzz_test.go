package giterm

import (
	"path"
	"strings"
	"testing"
)

// FuzzLinkTarget feeds arbitrary symlink locations and targets: an accepted target is a
// clean path inside the repository, and a target that climbs out is never accepted.
func FuzzLinkTarget(f *testing.F) {
	for _, seed := range [][2]string{
		{".helm/templates/a.yaml", "../shared/a.yaml"}, {".helm/x", "../../etc/passwd"}, {"a", "/etc/passwd"},
		{"a/b/c", "../../.."}, {"a", "."}, {"a/b", "..\\..\\x"}, {"a", "C:\\x"}, {"x", "a/../../b"}, {"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, at, target string) {
		dest, ok := linkTarget(at, target)
		if !ok {
			return
		}
		if dest != path.Clean(dest) || path.IsAbs(dest) || dest == ".." || strings.HasPrefix(dest, "../") {
			t.Fatalf("linkTarget(%q, %q) = %q: not a clean path inside the repository", at, target, dest)
		}
		if !strings.HasPrefix(at, "../") && at != ".." && !path.IsAbs(at) {
			// Within a repository path, the resolved target is what the OS would reach.
			want := path.Clean(path.Join(path.Dir(at), target))
			if !strings.Contains(target, "\\") && want != dest {
				t.Fatalf("linkTarget(%q, %q) = %q, the file system would reach %q", at, target, dest, want)
			}
		}
	})
}
