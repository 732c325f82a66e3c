package inputs

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/shared/bundle"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestBundleOfAStrictSchemaChart: a bundle bakes werf's service values into its values.yaml
// (as werf does, --repo included), and bundle-apply checks values.schema.json without them, as
// a deploy from git does: a chart whose schema allows only its own keys applies, a wrong
// value is still refused naming only that value, and what is given at apply wins.
func TestBundleOfAStrictSchemaChart(t *testing.T) {
	readsWerf := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n" +
		"  image: {{ .Values.werf.image.web | default \"none\" | quote }}\n  env: {{ .Values.werf.env | quote }}\n" +
		"  repo: {{ .Values.werf.repo | quote }}\n  ns: {{ .Values.werf.namespace | quote }}\n  port: {{ .Values.server.port | quote }}\n"
	published := Inputs{Env: "staging", Repo: "reg.io/shop", Images: inject.Images{"web": "reg.io/shop/web:1.2.3"}}
	tests := []struct {
		name      string
		publish   Inputs
		apply     Inputs
		wantErr   string
		wantData  []string
		wantBaked bool
	}{
		{name: "published with --env, --image and --repo", publish: published, wantBaked: true,
			wantData: []string{`image: "reg.io/shop/web:1.2.3"`, `env: "staging"`, `repo: "reg.io/shop"`, `ns: "apply-ns"`, `port: "80"`}},
		{name: "applied with --env and --image", publish: published, wantBaked: true,
			apply:    Inputs{Env: "prod", Images: inject.Images{"web": "reg.io/shop/web:2.0.0"}},
			wantData: []string{`image: "reg.io/shop/web:2.0.0"`, `env: "prod"`, `repo: "reg.io/shop"`}},
		{name: "applied with --set", publish: published, wantBaked: true,
			apply:    Inputs{Values: charts.ValueSources{Set: []string{"server.port=8080"}}},
			wantData: []string{`port: "8080"`, `repo: "reg.io/shop"`}},
		{name: "published without any: the chart reads them, so it gets them", wantBaked: true,
			wantData: []string{`image: "none"`, `env: ""`, `repo: ""`}},
		{name: "a wrong value at apply is refused naming only it", publish: published,
			apply:   Inputs{Values: charts.ValueSources{Set: []string{"server.extra=1"}}},
			wantErr: "values do not match values.schema.json of chart strict: at '/server': additional properties 'extra' not allowed"},
		{name: "a wrong value baked at publish is refused at apply", publish: Inputs{Env: "staging", Values: charts.ValueSources{Set: []string{"extra=1"}}},
			wantErr: "values do not match values.schema.json of chart strict: at '': additional properties 'extra' not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := tt.publish
			pub.ChartPath, pub.Namespace = strictChart(t, readsWerf), "publish-ns"
			ch, err := PrepareBundle(pub, "1.0.0", time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := ch.File(bundle.ServiceValuesFile); ok != tt.wantBaked && tt.wantErr == "" {
				t.Fatalf("%s recorded: %v, want %v", bundle.ServiceValuesFile, ok, tt.wantBaked)
			}
			if werf, _ := ch.Values()["werf"].(map[string]any); tt.wantBaked && (werf == nil || werf["namespace"] != nil) {
				t.Fatalf("baked .Values.werf = %v: want werf's service values, without a namespace (the apply gives it)", werf)
			}
			archive, err := ch.Archive()
			if err != nil {
				t.Fatal(err)
			}
			pulled, err := charts.LoadChartArchive(archive)
			if err != nil {
				t.Fatal(err)
			}
			in := tt.apply
			in.Chart, in.Bundle, in.ChartPath, in.Origin, in.Namespace, in.ReleaseName = pulled, true, "bundle", "bundle test", "apply-ns", "rel"
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
			out, err := helmsdk.Render(context.Background(), helmsdk.RenderRequest{ReleaseName: p.ReleaseName, Namespace: p.Namespace, Chart: p.Chart, Values: p.Values})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			for _, want := range tt.wantData {
				if !strings.Contains(out, want) {
					t.Errorf("render lacks %s:\n%s", want, out)
				}
			}
		})
	}
}

// TestWerfBundleWithoutRecordKeepsItsSchemaCheck: a bundle werf published (its service values
// baked into values.yaml, with no record of which they are) is checked as werf checks it: the
// values.yaml as it is.
func TestWerfBundleWithoutRecordKeepsItsSchemaCheck(t *testing.T) {
	ch, err := charts.LoadChart(strictChart(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetValues(charts.MergeMaps(ch.Values(), map[string]any{"werf": map[string]any{"env": "staging"}})); err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(Inputs{Chart: ch, Bundle: true, ChartPath: "bundle", Namespace: "ns", ReleaseName: "rel"})
	if want := "values do not match values.schema.json of chart strict: at '': additional properties 'werf' not allowed"; err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant  %s", err, want)
	}
}

// TestBundleServiceValuesFitSubcharts: publish fits the service values it bakes to every chart
// of the tree, as a deploy fits them: a subchart's own global.env list is not replaced by the
// --env string, and the run says so.
func TestBundleServiceValuesFitSubcharts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parent")
	testutil.WriteFiles(t, dir, map[string]string{
		"Chart.yaml":                   "apiVersion: v2\nname: parent\nversion: 1.0.0\n",
		"templates/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent}\ndata: {env: {{ .Values.werf.env | quote }}}\n",
		"charts/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
		"charts/sub/values.yaml":       "global:\n  env:\n  - {name: A, value: \"1\"}\n",
		"charts/sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\ndata: {env: {{ toJson .Values.global.env | quote }}}\n",
	})
	var progress bytes.Buffer
	ch, err := PrepareBundle(Inputs{ChartPath: dir, Namespace: "ns", Env: "staging", Progress: &progress}, "1.0.0", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	global, _ := ch.Values()["global"].(map[string]any)
	if _, baked := global["env"]; baked {
		t.Fatalf("baked global = %v: the --env string would replace the subchart's global.env list", global)
	}
	if werf, _ := ch.Values()["werf"].(map[string]any); werf["env"] != "staging" {
		t.Fatalf("baked werf = %v, want env staging", werf)
	}
	if !strings.Contains(progress.String(), "service value global.env left out") {
		t.Fatalf("progress does not say global.env was left out:\n%s", progress.String())
	}
}
