package charts

import (
	"bytes"
	"fmt"

	"github.com/mitchellh/copystructure"
	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

// CRDAPIVersions are the API versions the chart's CRDs (subcharts too) serve, as
// .Capabilities.APIVersions lists them ("group/version" and "group/version/Kind"): a render
// before the CRDs are applied sees them as the deploy's own render will.
func (c *Chart) CRDAPIVersions() []string {
	var out []string
	for _, crd := range c.chart.CRDObjects() {
		for _, doc := range bytes.Split(crd.File.Data, []byte("\n---")) {
			var def struct {
				Spec struct {
					Group string `json:"group"`
					Names struct {
						Kind string `json:"kind"`
					} `json:"names"`
					Versions []struct {
						Name string `json:"name"`
					} `json:"versions"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(doc, &def); err != nil || def.Spec.Group == "" {
				continue
			}
			for _, v := range def.Spec.Versions {
				gv := def.Spec.Group + "/" + v.Name
				out = append(out, gv, gv+"/"+def.Spec.Names.Kind)
			}
		}
	}
	return out
}

// Copy returns a copy to render: rendering processes dependencies (conditions, aliases,
// import-values) in place, in the charts' metadata, values and dependency lists, so those
// are copied deeply; file contents are never written by a render and are shared (a chart
// with CRDs of megabytes copies in microseconds instead of a second).
func (c *Chart) Copy() (*Chart, error) {
	out, err := copyChartTree(c.chart)
	if err != nil {
		return nil, fmt.Errorf("copy chart %q: %w", c.Name(), err)
	}
	return &Chart{chart: out}, nil
}

func copyChartTree(in *chart.Chart) (*chart.Chart, error) {
	out := &chart.Chart{
		Raw:       append([]*chart.File(nil), in.Raw...),
		Schema:    in.Schema,
		Templates: append([]*chart.File(nil), in.Templates...),
		Files:     append([]*chart.File(nil), in.Files...),
	}
	for _, field := range []struct{ from, to any }{
		{in.Metadata, &out.Metadata},
		{in.Lock, &out.Lock},
		{in.Values, &out.Values},
	} {
		v, err := copystructure.Copy(field.from)
		if err != nil {
			return nil, err
		}
		switch to := field.to.(type) {
		case **chart.Metadata:
			*to, _ = v.(*chart.Metadata)
		case **chart.Lock:
			*to, _ = v.(*chart.Lock)
		case *map[string]any:
			*to, _ = v.(map[string]any)
		}
	}
	var deps []*chart.Chart
	for _, d := range in.Dependencies() {
		dc, err := copyChartTree(d)
		if err != nil {
			return nil, err
		}
		deps = append(deps, dc)
	}
	out.SetDependencies(deps...)
	return out, nil
}

// HasCRDs reports whether the chart (or a subchart) has files in crds/.
func (c *Chart) HasCRDs() bool { return len(c.chart.CRDObjects()) > 0 }
