package annotate

import (
	"strings"
	"testing"
)

// FuzzParsePairs feeds arbitrary --add-annotation values: accepted pairs keep key and value
// exactly, errors name the flag, nothing panics.
func FuzzParsePairs(f *testing.F) {
	for _, seed := range []string{"team=shop", "a=b=c", "=x", "x=", "example.com/owner=me", "bad key=v", "k", "a/b/c=1", strings.Repeat("k", 300) + "=v"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pair string) {
		m, err := ParsePairs(KindAnnotation, "--add-annotation", []string{pair})
		if err != nil {
			if !strings.Contains(err.Error(), "--add-annotation") {
				t.Fatalf("%q: error does not name the flag: %v", pair, err)
			}
			return
		}
		for k, v := range m {
			if k+"="+v != pair {
				t.Fatalf("%q parsed as %q=%q", pair, k, v)
			}
		}
	})
}
