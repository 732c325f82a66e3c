package charts

import (
	"path/filepath"
	"reflect"
	"strings"
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

// TestSchemaErrorsNameTheFieldNotTheValue: for every rule whose message from the validator
// would embed the value (pattern, format, bounds) or the rule's own list (enum, const), the
// error names the field and says "value", never the secret-looking value itself.
func TestSchemaErrorsNameTheFieldNotTheValue(t *testing.T) {
	const secret = "hunter2-s3cr3t's"
	tests := []struct {
		rule    string
		schema  string
		val     any
		wantErr string
	}{
		{rule: "pattern", schema: `{"type": "string", "pattern": "^.{40,}$"}`, val: secret,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': value does not match pattern '^.{40,}$'"},
		{rule: "enum", schema: `{"enum": ["a", "b"]}`, val: secret,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': value must be one of 'a', 'b'"},
		{rule: "const", schema: `{"const": "a"}`, val: secret,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': value must be 'a'"},
		{rule: "maximum", schema: `{"type": "integer", "maximum": 10}`, val: 987654321,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': maximum: want 10"},
		{rule: "minimum", schema: `{"type": "integer", "minimum": 999999999}`, val: 987654321,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': minimum: want 9.99999999×10⁰⁸"},
		{rule: "multipleOf", schema: `{"type": "integer", "multipleOf": 2}`, val: 987654321,
			wantErr: "values do not match values.schema.json of chart c: at '/db/password': multipleOf: want 2"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			testutil.WriteFiles(t, dir, map[string]string{
				"Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
				"values.schema.json": `{"type": "object", "properties": {"db": {"type": "object", "properties": {"password": ` +
					tt.schema + `}}}}`,
			})
			ch, err := LoadChart(dir)
			if err != nil {
				t.Fatal(err)
			}
			vals := map[string]any{"db": map[string]any{"password": tt.val}}
			resolved, err := ch.ResolveValues(vals, vals)
			if err != nil {
				t.Fatal(err)
			}
			got := errString(resolved.Validate())
			for _, leak := range []string{"hunter2", "s3cr3t", "987654321"} {
				if strings.Contains(got, leak) {
					t.Errorf("the error prints the value (%q): %s", leak, got)
				}
			}
			if got != tt.wantErr {
				t.Fatalf("error %q\nwant  %q", got, tt.wantErr)
			}
		})
	}
	// Helm does not assert formats, so their messages (the value, then the parser's complaint,
	// which may quote part of it) are checked as the validator writes them.
	for _, tt := range []struct{ report, want string }{
		{report: "c:\n- at '/db/password': 'hunter2-s3cr3t\\'s' is not valid ipv4: invalid character 'h'\n", want: "ipv4"},
		{report: "c:\n- at '/db/password': 987654321 is not valid hostname: label starts with hyphen\n", want: "hostname"},
	} {
		want := "values do not match values.schema.json of chart c: at '/db/password': value is not valid " + tt.want
		if got := schemaError(tt.report).Error(); got != want {
			t.Errorf("error %q\nwant  %q", got, want)
		}
	}
}

// TestWithoutPaths: the leaves named are removed, maps emptied so go too, the rest stays.
func TestWithoutPaths(t *testing.T) {
	newValues := func() map[string]any {
		return map[string]any{
			"greeting": "hi",
			"werf":     map[string]any{"env": "staging", "image": map[string]any{"web": "x"}, "own": 1},
			"global":   map[string]any{"env": "staging", "werf": map[string]any{"version": "v1"}},
			"server":   map[string]any{"port": 80},
		}
	}
	values := newValues()
	paths := map[string]any{
		"werf":   map[string]any{"env": "", "image": map[string]any{"web": ""}, "tag": map[string]any{}},
		"global": map[string]any{"env": "", "werf": map[string]any{"version": ""}},
		"absent": map[string]any{"x": 1},
	}
	want := map[string]any{"greeting": "hi", "werf": map[string]any{"own": 1}, "server": map[string]any{"port": 80}}
	if got := WithoutPaths(values, paths); !reflect.DeepEqual(got, want) {
		t.Fatalf("WithoutPaths = %v\nwant %v", got, want)
	}
	if !reflect.DeepEqual(values, newValues()) {
		t.Fatalf("WithoutPaths changed its input: %v", values)
	}
}
