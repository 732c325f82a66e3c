package annotate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/manifest"
)

func TestApply(t *testing.T) {
	in := `# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  annotations:
    existing: "1"
data:
  a: b
---
apiVersion: v1
kind: ConfigMapList
items: []
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: null
spec:
  template:
    metadata:
      labels:
        app: web
`
	set := Set{Annotations: map[string]string{"team": "shop", "werf.io/version": "v1"}, Labels: map[string]string{"env": "prod"}}
	out, err := manifest.Edit([]byte(in), set.Apply)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("got %d objects, want 3:\n%s", len(objs), out)
	}
	cm := manifest.Lookup(manifest.Lookup(objs[0].Root, "metadata"), "annotations")
	for _, k := range []string{"existing", "team", "werf.io/version"} {
		if manifest.Lookup(cm, k) == nil {
			t.Fatalf("ConfigMap lacks annotation %q:\n%s", k, out)
		}
	}
	if !strings.HasPrefix(string(out), "# Source: app/templates/cm.yaml") {
		t.Fatalf("the Source comment was lost:\n%s", out)
	}
	if manifest.Lookup(objs[1].Root, "metadata") != nil {
		t.Fatalf("a List got metadata:\n%s", out)
	}
	deployLabels := manifest.Lookup(manifest.Lookup(objs[2].Root, "metadata"), "labels")
	if manifest.Lookup(deployLabels, "env") == nil {
		t.Fatalf("Deployment lacks the label:\n%s", out)
	}
	podLabels := manifest.Lookup(manifest.Lookup(manifest.Lookup(manifest.Lookup(objs[2].Root, "spec"), "template"), "metadata"), "labels")
	if manifest.Lookup(podLabels, "env") != nil {
		t.Fatalf("the label reached the pod template, where it could break selectors:\n%s", out)
	}
}

func TestParsePairs(t *testing.T) {
	got, err := ParsePairs(KindAnnotation, "--add-annotation", []string{"a=1", "example.com/b=x=y"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"a": "1", "example.com/b": "x=y"}) {
		t.Fatalf("ParsePairs = %v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "=v", "bad key=v"} {
		if _, err := ParsePairs(KindAnnotation, "--add-annotation", []string{bad}); err == nil || !strings.Contains(err.Error(), "--add-annotation") {
			t.Fatalf("ParsePairs(%q) error %v does not name the flag", bad, err)
		}
	}
	if _, err := ParsePairs(KindLabel, "--add-label", []string{"a=not a valid label value"}); err == nil {
		t.Fatal("invalid label value accepted")
	}
}

func TestFromEnvAndCI(t *testing.T) {
	env := []string{"WERF_ADD_ANNOTATION_B=b=2", "OTHER=x", "WERF_ADD_ANNOTATION_A=a=1", "WERF_ADD_LABEL_X=l=1"}
	if got := FromEnv(env, "WERF_ADD_ANNOTATION_"); !reflect.DeepEqual(got, []string{"a=1", "b=2"}) {
		t.Fatalf("FromEnv = %v", got)
	}
	// werf sorts NAME=VALUE: "WERF_SET_10=" before "WERF_SET_1=" before "WERF_SET_2=".
	numbered := []string{"WERF_SET_2=x=2", "WERF_SET_1=x=1", "WERF_SET_10=x=10"}
	if got := FromEnv(numbered, "WERF_SET_"); !reflect.DeepEqual(got, []string{"x=10", "x=1", "x=2"}) {
		t.Fatalf("FromEnv = %v, want werf's order x=10 x=1 x=2", got)
	}
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7", "GITHUB_SHA": "abc"}
	got := CIAnnotations(func(k string) string { return gh[k] })
	want := map[string]string{"project.werf.io/git": "https://github.com/o/r", "github.ci.werf.io/workflow-run-url": "https://github.com/o/r/actions/runs/7", "ci.werf.io/commit": "abc"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CIAnnotations(GitHub) = %v, want %v", got, want)
	}
	if got := CIAnnotations(func(string) string { return "" }); len(got) != 0 {
		t.Fatalf("CIAnnotations outside CI = %v", got)
	}
}
