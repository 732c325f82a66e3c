package charts

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// schemaChart writes a chart whose values.schema.json forbids unknown keys at its root and in
// a nested object, with a subchart (in charts/) that does the same, and a second subchart
// enabled only by a condition.
func schemaChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: root\nversion: 1.0.0\ndependencies:\n- {name: sub, version: 1.0.0}\n- {name: opt, version: 1.0.0, condition: opt.enabled}\n",
		"values.yaml": "replicas: 1\nserver: {port: 80}\nglobal: {env: [{name: A, value: \"1\"}]}\nopt: {enabled: false}\n",
		"values.schema.json": `{"type": "object", "additionalProperties": false, "properties": {
  "replicas": {"type": "integer"}, "global": {"type": "object"}, "sub": {"type": "object"}, "opt": {"type": "object"},
  "server": {"type": "object", "additionalProperties": false, "properties": {"port": {"type": "integer"}}}}}`,
		"charts/sub/Chart.yaml":         "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
		"charts/sub/values.yaml":        "size: 1\n",
		"charts/sub/values.schema.json": `{"type": "object", "additionalProperties": false, "properties": {"size": {"type": "integer"}, "global": {"type": "object"}}}`,
		"charts/opt/Chart.yaml":         "apiVersion: v2\nname: opt\nversion: 1.0.0\n",
		"charts/opt/values.schema.json": `{"type": "object", "required": ["mustBeSet"]}`,
	}
	testutil.WriteFiles(t, dir, files)
	return dir
}

// TestValidateValuesAsHelm: values are checked against the schema of the chart and of every
// enabled subchart, as Helm checks them, in one line naming the chart and the field; a
// disabled subchart's schema is not checked; the chart is left as loaded.
func TestValidateValuesAsHelm(t *testing.T) {
	dir := schemaChart(t)
	tests := []struct {
		name    string
		vals    map[string]any
		wantErr string
	}{
		{name: "chart values pass", vals: map[string]any{}},
		{name: "a user value of the wrong type", vals: map[string]any{"replicas": "two"},
			wantErr: "values do not match values.schema.json of chart root: at '/replicas': got string, want integer"},
		{name: "an unknown key in a nested object", vals: map[string]any{"server": map[string]any{"extra": true}},
			wantErr: "values do not match values.schema.json of chart root: at '/server': additional properties 'extra' not allowed"},
		{name: "an unknown key for the subchart", vals: map[string]any{"sub": map[string]any{"bad": 1}},
			wantErr: "values do not match values.schema.json of chart sub: at '': additional properties 'bad' not allowed"},
		{name: "werf's service values would break it", vals: map[string]any{"werf": map[string]any{"env": "prod"}},
			wantErr: "values do not match values.schema.json of chart root: at '': additional properties 'werf' not allowed"},
		{name: "the condition-enabled subchart is checked", vals: map[string]any{"opt": map[string]any{"enabled": true}},
			wantErr: "values do not match values.schema.json of chart opt: at '': missing property 'mustBeSet'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := LoadChart(dir)
			if err != nil {
				t.Fatal(err)
			}
			resolved, err := ch.ResolveValues(tt.vals, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			err = resolved.Validate()
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error %q\nwant  %q", got, tt.wantErr)
			}
			if n := len(ch.Helm().Dependencies()); n != 2 {
				t.Fatalf("the chart lost dependencies: %d left", n)
			}
		})
	}
}

// TestResolvedViews: each enabled chart's values as it sees them, globals handed down.
func TestResolvedViews(t *testing.T) {
	ch, err := LoadChart(schemaChart(t))
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := ch.ResolveValues(map[string]any{"replicas": 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	views := resolved.Views()
	if len(views) != 2 {
		t.Fatalf("%d views, want the root's and the enabled subchart's", len(views))
	}
	if views[0]["replicas"] != 3 || views[1]["size"] != float64(1) {
		t.Fatalf("views %v", views)
	}
	env := []any{map[string]any{"name": "A", "value": "1"}}
	if got := views[1]["global"].(map[string]any)["env"]; !reflect.DeepEqual(got, env) {
		t.Fatalf("the subchart's global.env = %v, want the parent's list", got)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
