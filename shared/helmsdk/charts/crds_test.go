package charts

import (
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

func TestCopyLeavesTheChartAsLoaded(t *testing.T) {
	sub := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "db", Version: "1.0.0"},
		Values:   map[string]any{"exports": map[string]any{"data": map[string]any{"port": 5432}}},
	}
	parent := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0", Dependencies: []*chart.Dependency{
			{Name: "db", Version: "1.0.0", Condition: "db.enabled", ImportValues: []any{"data"}},
		}},
		Values:    map[string]any{"db": map[string]any{"enabled": true}},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("kind: ConfigMap")}},
	}
	parent.AddDependency(sub)
	original := &Chart{chart: parent}

	copied, err := original.Copy()
	if err != nil {
		t.Fatal(err)
	}
	// Rendering with the subchart disabled and its values imported changes the copy only.
	if err := chartutil.ProcessDependenciesWithMerge(copied.chart, map[string]any{"db": map[string]any{"enabled": false}}); err != nil {
		t.Fatal(err)
	}
	copied.chart.Values["db"].(map[string]any)["enabled"] = "changed"
	if len(copied.chart.Dependencies()) != 0 {
		t.Fatalf("the copy kept the disabled subchart")
	}
	if len(parent.Dependencies()) != 1 || parent.Dependencies()[0].Parent() != parent {
		t.Fatalf("the original lost its subchart: %v", parent.Dependencies())
	}
	if parent.Metadata.Dependencies[0].Enabled || len(parent.Metadata.Dependencies[0].ImportValues) != 1 {
		t.Fatalf("the original's dependency metadata changed: %+v", parent.Metadata.Dependencies[0])
	}
	if parent.Values["db"].(map[string]any)["enabled"] != true {
		t.Fatalf("the original's values changed: %v", parent.Values)
	}
	if _, ok := parent.Values["port"]; ok {
		t.Fatalf("import-values of the copy reached the original: %v", parent.Values)
	}
	if len(copied.chart.Templates) != 1 || string(copied.chart.Templates[0].Data) != "kind: ConfigMap" {
		t.Fatalf("the copy's templates: %v", copied.chart.Templates)
	}
}
