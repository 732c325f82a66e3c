package inputs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/testutil"
	"github.com/kubectl-converge/converge/shared/werfproject"
)

// strictChart is a Helm chart of the kind public charts are: a values.schema.json that forbids
// unknown keys at its root and in a nested object, and its own global.env list.
func strictChart(t *testing.T, template string) string {
	dir := filepath.Join(t.TempDir(), "strict")
	testutil.WriteFiles(t, dir, map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: strict\nversion: 1.0.0\n",
		"values.yaml": "greeting: hello\nserver: {port: 80}\nglobal:\n  env:\n  - {name: A, value: \"1\"}\n",
		"values.schema.json": `{"type": "object", "additionalProperties": false, "properties": {
  "greeting": {"type": "string"}, "global": {"type": "object"},
  "server": {"type": "object", "additionalProperties": false, "properties": {"port": {"type": "integer"}}}}}`,
		"templates/cm.yaml": template,
	})
	return dir
}

// TestPrepareServiceValues: when a chart gets werf's service values, that they never break its
// values.schema.json nor retype its own values, and that the schema still refuses a wrong user
// value (naming the field) unless told not to.
func TestPrepareServiceValues(t *testing.T) {
	plain := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  env: {{ toJson (concat .Values.global.env (list (dict \"name\" \"B\"))) | quote }}\n"
	readsWerf := plain + "  ns: {{ .Values.werf.namespace | quote }}\n"
	chartEnv := []any{map[string]any{"name": "A", "value": "1"}}
	tests := []struct {
		name     string
		template string
		in       Inputs
		wantErr  string
		// werf is .Values.werf; nil: the chart gets no service values.
		werf map[string]any
	}{
		{name: "a plain chart gets none", template: plain},
		{name: "--env and --image: they fit around the chart's values", template: plain,
			in:   Inputs{Env: "prod", Images: inject.Images{"web": "reg.io/web:1"}},
			werf: map[string]any{"env": "prod", "namespace": "ns", "repo": "", "image": map[string]any{"web": "reg.io/web:1"}, "tag": map[string]any{"web": "1"}}},
		{name: "a chart whose templates read them", template: readsWerf,
			werf: map[string]any{"env": "", "namespace": "ns", "repo": "", "image": map[string]any{}, "tag": map[string]any{}}},
		{name: "a werf project", template: plain, in: Inputs{Project: &werfproject.Config{Project: "shop"}},
			werf: map[string]any{"name": "shop", "env": "", "namespace": "ns", "repo": "", "image": map[string]any{}, "tag": map[string]any{}}},
		{name: "a wrong user value fails naming the field", template: plain,
			in:      Inputs{Env: "prod", Values: charts.ValueSources{Set: []string{"server.extra=1"}}},
			wantErr: "values do not match values.schema.json of chart strict: at '/server': additional properties 'extra' not allowed"},
		{name: "a wrong type fails naming the field", template: plain, in: Inputs{Values: charts.ValueSources{Set: []string{"server.port=eighty"}}},
			wantErr: "values do not match values.schema.json of chart strict: at '/server/port': got string, want integer"},
		{name: "--no-values-schema-validation lets it through", template: plain,
			in: Inputs{NoValuesSchemaValidation: true, Values: charts.ValueSources{Set: []string{"server.extra=1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var progress bytes.Buffer
			in := tt.in
			in.ChartPath, in.Namespace, in.ReleaseName, in.Progress = strictChart(t, tt.template), "ns", "rel", &progress
			p, err := Prepare(in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v\nwant  %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			werf, _ := p.Values["werf"].(map[string]any)
			if werf != nil {
				delete(werf, "version")
			}
			if !reflect.DeepEqual(werf, tt.werf) {
				t.Fatalf(".Values.werf = %v\nwant %v", werf, tt.werf)
			}
			global, _ := p.Values["global"].(map[string]any)
			if _, hasWerf := global["werf"]; hasWerf != (tt.werf != nil) {
				t.Fatalf(".Values.global = %v", global)
			}
			if env := global["env"]; env != nil && !reflect.DeepEqual(env, chartEnv) {
				t.Fatalf(".Values.global.env = %v: the service value retyped the chart's list", env)
			}
			if tt.werf != nil && !strings.Contains(progress.String(), "service value global.env left out") {
				t.Fatalf("progress does not say global.env was left out:\n%s", progress.String())
			}
			out, err := helmsdk.Render(context.Background(), helmsdk.RenderRequest{ReleaseName: p.ReleaseName, Namespace: p.Namespace, Chart: p.Chart, Values: p.Values})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if want := `env: "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\"}]"`; !strings.Contains(out, want) {
				t.Fatalf("render:\n%s\nwant %s", out, want)
			}
		})
	}
}

// TestSecretValuesFileCapped: a --secret-values file over the values size cap is refused
// naming it, before it is read into memory whole.
func TestSecretValuesFileCapped(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(charts.MaxValuesFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Prepare(Inputs{ChartPath: strictChart(t, "{}\n"), Namespace: "ns", SecretValuesFiles: []string{big}})
	if want := "--secret-values " + big + ": larger than the 64 MiB allowed"; fmt.Sprint(err) != want {
		t.Fatalf("error %q\nwant  %q", fmt.Sprint(err), want)
	}
}

// TestServiceValuesLint: helm giterm lint's service values are decided and fitted as Prepare's,
// and, as in Prepare, values.schema.json checks the values without them: a Helm chart with a
// strict values.schema.json and its own global.env list lints as helm lint lints it, a chart
// written for werf gets .Values.werf and lints too, and a wrong value of the chart still fails.
func TestServiceValuesLint(t *testing.T) {
	plain := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  env: {{ toJson (concat .Values.global.env (list (dict \"name\" \"B\"))) | quote }}\n"
	readsWerf := plain + "  ns: {{ .Values.werf.namespace | quote }}\n  image: {{ .Values.werf.image.web | default \"none\" | quote }}\n"
	tests := []struct {
		name     string
		template string
		// values replaces the chart's values.yaml when set.
		values   string
		wantWerf bool
		wantErr  string
	}{
		{name: "a plain chart gets none", template: plain},
		{name: "a chart whose templates read them", template: readsWerf, wantWerf: true},
		{name: "a wrong value of a chart that reads them", template: readsWerf, wantWerf: true,
			values: "greeting: hello\nserver: {port: 80, extra: 1}\nglobal:\n  env: []\n", wantErr: "additional properties 'extra' not allowed"},
		{name: "a wrong value of a plain chart", template: plain,
			values: "greeting: hello\nserver: {port: 80, extra: 1}\nglobal:\n  env: []\n", wantErr: "additional properties 'extra' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := strictChart(t, tt.template)
			if tt.values != "" {
				testutil.WriteFiles(t, dir, map[string]string{"values.yaml": tt.values})
			}
			ch, err := charts.LoadChart(dir)
			if err != nil {
				t.Fatal(err)
			}
			service, err := Inputs{Namespace: "ns"}.ServiceValues(ch)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := service["werf"]; got != tt.wantWerf {
				t.Fatalf("service values %v: has werf %v, want %v", service, got, tt.wantWerf)
			}
			if global, _ := service["global"].(map[string]any); global["env"] != nil {
				t.Fatalf("service global.env %v retypes the chart's list", global["env"])
			}
			messages, err := charts.Lint(dir, service, false)
			all := strings.Join(messages, "\n")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("lint: %v\n%s", err, all)
				}
				return
			}
			if err == nil || !strings.Contains(all, tt.wantErr) || strings.Contains(all, "'werf'") || strings.Contains(all, "'global'") {
				t.Fatalf("lint: %v, want a failure naming %q and no service value:\n%s", err, tt.wantErr, all)
			}
		})
	}
}
