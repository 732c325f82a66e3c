package charts

import (
	"strings"
	"testing"
)

// FuzzSetFlags feeds arbitrary --set, --set-string and --set-json items: each is parsed or
// refused with an error naming the flag and the item, and nothing panics.
func FuzzSetFlags(f *testing.F) {
	for _, seed := range []string{"a=b", "a.b[0]=c", "a[=b", "a", "a={b,c}", `a\.b=c`, "a[1000000]=x", "a.b.c.d=1,e=2", `a={"x":1}`, "=", "a[-1]=b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, item string) {
		for flag, src := range map[string]ValueSources{
			"--set":        {Set: []string{item}},
			"--set-string": {SetString: []string{item}},
			"--set-json":   {SetJSON: []string{item}},
		} {
			if _, err := MergeValues(src); err != nil && !strings.HasPrefix(err.Error(), flag+" ") {
				t.Fatalf("%s %q: the error does not name the flag: %v", flag, item, err)
			}
		}
	})
}
