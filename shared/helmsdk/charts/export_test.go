package charts

import (
	"encoding/json"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// exportTree is a werf-shaped chart: root -> sub -> subsub with export-values at both
// levels, an aliased subchart and a condition-disabled one, every chart printing the values
// it sees.
var exportTree = map[string]string{
	"Chart.yaml": `apiVersion: v2
name: root
version: 1.0.0
dependencies:
- name: sub
  version: 0.1.0
  export-values:
  - {parent: werf, child: werf}
  - {parent: db.host, child: database.host}
  - shared
  - {parent: ".", child: broken}
- name: other
  alias: aliased
  version: 0.1.0
  export-values:
  - {parent: werf.image, child: images}
  - {parent: replicas, child: replicaCount}
  - {parent: db.host, child: host}
  - {parent: db.replica, child: host}
- name: other
  alias: disabled
  version: 0.1.0
  condition: disabled.enabled
  export-values:
  - {parent: werf, child: werf}
`,
	"values.yaml": `replicas: 2
db: {host: db.internal, replica: db-replica.internal}
exports: {shared: {region: eu}}
sub:
  database: {host: overridden-by-the-export}
  own: from-root
aliased:
  replicaCount: 9
disabled: {enabled: false}
`,
	"templates/values.txt": "{{ toJson .Values }}",
	"charts/sub/Chart.yaml": `apiVersion: v2
name: sub
version: 0.1.0
dependencies:
- name: subsub
  version: 0.1.0
  export-values:
  - {parent: werf, child: werf}
  - {parent: database, child: db}
`,
	"charts/sub/values.yaml":                        "werf: {own: sub-default}\n",
	"charts/sub/templates/values.txt":               "{{ toJson .Values }}",
	"charts/sub/charts/subsub/Chart.yaml":           "apiVersion: v2\nname: subsub\nversion: 0.1.0\n",
	"charts/sub/charts/subsub/templates/values.txt": "{{ toJson .Values }}",
	"charts/other/Chart.yaml":                       "apiVersion: v2\nname: other\nversion: 0.1.0\n",
	"charts/other/values.yaml":                      "replicaCount: 1\n",
	"charts/other/templates/values.txt":             "{{ toJson .Values }}",
}

// TestExportValues: what each chart's templates see, rendered as Helm renders, with werf's
// export-values applied as nelm applies them (see ExportValues for the rules).
func TestExportValues(t *testing.T) {
	service := map[string]any{"werf": map[string]any{"env": "production", "image": map[string]any{"app": "app:1", "app2": "app2:1"}}}
	const absent = "<absent>"
	tests := []struct {
		name  string
		user  map[string]any
		top   map[string]any
		wants map[string]map[string]any // chart path -> value path -> value (absent: no key)
		// disabled charts must not render at all.
	}{
		{
			name: "service values reach the subchart and, re-exported, the sub-subchart",
			top:  service,
			wants: map[string]map[string]any{
				"root": {"werf.env": "production", "sub.werf.image.app2": "app2:1"},
				"root/charts/sub": {
					"werf.image.app2": "app2:1", "werf.env": "production", "werf.own": "sub-default",
					"database.host": "db.internal", "own": "from-root", "region": "eu", "broken": absent,
				},
				"root/charts/sub/charts/subsub": {
					"werf.image.app2": "app2:1", "werf.own": "sub-default",
					// database was itself received by export: re-exported as db.
					"db.host": "db.internal",
				},
				// The aliased subchart: the export wins over what root's values say for it;
				// of two items for one key the later wins.
				"root/charts/aliased": {"images.app": "app:1", "replicaCount": float64(2), "host": "db-replica.internal"},
			},
		},
		{
			name: "a table the user sets is handed down two levels, the service values still win at the top",
			user: map[string]any{"werf": map[string]any{"tag": "v1", "env": "ignored"}},
			top:  service,
			wants: map[string]map[string]any{
				"root":                          {"werf.tag": "v1", "werf.env": "production"},
				"root/charts/sub":               {"werf.tag": "v1", "werf.image.app": "app:1"},
				"root/charts/sub/charts/subsub": {"werf.tag": "v1", "werf.image.app2": "app2:1"},
			},
		},
		{
			name: "what the user sets for the subchart wins, and is re-exported below it",
			user: map[string]any{
				"werf": map[string]any{"tag": "v1"},
				"sub":  map[string]any{"werf": map[string]any{"image": map[string]any{"app2": "mine"}}},
			},
			top: service,
			wants: map[string]map[string]any{
				// nelm copies the user's werf only where the user set nothing: not here.
				"root/charts/sub":               {"werf.image.app2": "mine", "werf.image.app": "app:1", "werf.tag": absent},
				"root/charts/sub/charts/subsub": {"werf.image.app2": "mine", "werf.image.app": "app:1", "werf.tag": absent},
			},
		},
		{
			name: "the user's scalars are not exported, the chart's are (as in nelm)",
			user: map[string]any{"replicas": 5},
			wants: map[string]map[string]any{
				"root":                {"replicas": float64(5)},
				"root/charts/aliased": {"replicaCount": float64(2)},
			},
		},
		{
			name: "no service values: nothing to export for werf, the rest still flows",
			wants: map[string]map[string]any{
				"root/charts/sub":               {"werf.own": "sub-default", "werf.image": absent, "database.host": "db.internal"},
				"root/charts/sub/charts/subsub": {"werf.own": "sub-default", "db.host": "db.internal"},
			},
		},
	}
	ch, err := LoadChartFiles("root", filesOf(exportTree))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := ch.ExportValues(tt.user, tt.top)
			if err != nil {
				t.Fatal(err)
			}
			seen := renderSeenValues(t, ch, vals)
			if _, ok := seen["root/charts/disabled"]; ok {
				t.Errorf("the disabled subchart rendered")
			}
			for chartPath, wants := range tt.wants {
				got, ok := seen[chartPath]
				if !ok {
					t.Fatalf("%s did not render; rendered: %v", chartPath, keysOf(seen))
				}
				for path, want := range wants {
					v, found := valueAtPath(got, path)
					if want == absent {
						if found {
							t.Errorf("%s sees %s = %v, want no such key", chartPath, path, v)
						}
						continue
					}
					if !found || v != want {
						t.Errorf("%s sees %s = %v (found %v), want %v", chartPath, path, v, found, want)
					}
				}
			}
		})
	}
	// The chart is left as loaded: a second render starts from the same values.
	for _, sub := range ch.Helm().Dependencies() {
		if _, ok := valueAtPath(sub.Values, "werf.image"); ok {
			t.Errorf("ExportValues changed the chart's own values")
		}
	}
}

// TestExportValuesWithoutExports: a chart without export-values gets the user's values with
// the service values over them, nothing else.
func TestExportValuesWithoutExports(t *testing.T) {
	ch, err := LoadChartFiles("plain", map[string][]byte{"Chart.yaml": []byte("apiVersion: v2\nname: plain\nversion: 1.0.0\n")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ch.ExportValues(map[string]any{"a": 1, "werf": map[string]any{"env": "mine"}}, map[string]any{"werf": map[string]any{"env": "production"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if string(b) != `{"a":1,"werf":{"env":"production"}}` {
		t.Fatalf("values %s", b)
	}
}

func filesOf(m map[string]string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// renderSeenValues renders a copy of ch as Helm's install action does and returns the
// values each chart's templates/values.txt printed, by chart path.
func renderSeenValues(t *testing.T, ch *Chart, vals map[string]any) map[string]map[string]any {
	t.Helper()
	work, err := ch.Copy()
	if err != nil {
		t.Fatal(err)
	}
	h := work.Helm()
	if err := chartutil.ProcessDependenciesWithMerge(h, vals); err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(h, vals, chartutil.ReleaseOptions{Name: "r", Namespace: "ns"}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(h, rv)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]any{}
	for name, text := range out {
		chartPath, ok := strings.CutSuffix(name, "/templates/values.txt")
		if !ok {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		seen[chartPath] = v
	}
	return seen
}

func valueAtPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, key := range strings.Split(path, ".") {
		next, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = next[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
