package manifest

import (
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // kind/name/source of each document
		err      string
	}{
		{name: "helm stream", in: "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\n# Source: app/templates/svc.yaml\nkind: Service\nmetadata:\n  name: web\n",
			want: []string{"ConfigMap/cm/app/templates/cm.yaml", "Service/web/app/templates/svc.yaml"}},
		{name: "empty documents dropped", in: "---\n---\nkind: A\nmetadata: {name: a}\n---\n\n", want: []string{"A/a/"}},
		{name: "template rendered empty: its comment stays, without an object", in: "---\n# Source: app/templates/empty.yaml\n---\n# Source: app/templates/b.yaml\nkind: B\nmetadata: {name: b}\n", want: []string{"//", "B/b/app/templates/b.yaml"}},
		{name: "missing name and kind", in: "metadata: {}\n", want: []string{"//"}},
		{name: "list document", in: "- a\n- b\n", err: "YAML document 1 is not a mapping"},
		{name: "second document broken", in: "kind: A\n---\nkind: [\n", err: "parse YAML document 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects, err := Parse([]byte(tc.in))
			if testutil.ExpectError(t, err, tc.err) {
				return
			}
			var got []string
			for _, o := range objects {
				got = append(got, o.Kind()+"/"+o.Name()+"/"+o.Source())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEditKeepsCommentsAndOrder(t *testing.T) {
	in := "# Source: app/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: cm # the name\n  annotations:\n    a: \"1\"\ndata:\n  z: last\n  a: first\n---\nkind: Secret\nmetadata:\n  name: s\n  annotations: null\n"
	out, err := Edit([]byte(in), func(o *Object) error {
		ann, err := EnsureMap(Lookup(o.Root, "metadata"), "annotations")
		if err != nil {
			return err
		}
		SetString(ann, "team", "007")
		Delete(ann, "a")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Source: app/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: cm # the name\n  annotations:\n    team: \"007\"\ndata:\n  z: last\n  a: first\n---\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    team: \"007\"\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	objects, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := objects[1].Annotations(); len(got) != 1 || got["team"] != "007" {
		t.Fatalf("annotations read back: %v", got)
	}
}

func TestEnsureMapRefusesAScalar(t *testing.T) {
	objects, err := Parse([]byte("metadata:\n  annotations: text\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureMap(Lookup(objects[0].Root, "metadata"), "annotations"); err == nil || !strings.Contains(err.Error(), "annotations is a str, want a mapping") {
		t.Fatalf("error %v", err)
	}
}
