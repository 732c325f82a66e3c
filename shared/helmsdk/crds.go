package helmsdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mitchellh/copystructure"
	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"
)

// crdFieldManager owns the CRD fields we apply; fields others set (a conversion webhook's
// caBundle injected by cert-manager, say) stay theirs.
const crdFieldManager = "kubectl-converge"

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

// Copy returns a deep copy: rendering processes dependencies (conditions, aliases) in place,
// so a render that must leave the chart as loaded renders a copy.
func (c *Chart) Copy() (*Chart, error) {
	v, err := copystructure.Copy(c.chart)
	if err != nil {
		return nil, fmt.Errorf("copy chart %q: %w", c.Name(), err)
	}
	return &Chart{chart: v.(*chart.Chart)}, nil
}

// HasCRDs reports whether the chart (or a subchart) has files in crds/.
func (c *Chart) HasCRDs() bool { return len(c.chart.CRDObjects()) > 0 }

// ApplyCRDs creates or updates the CRDs of the chart's crds/ directories (subcharts too) with
// server-side apply and waits until they are established. Helm only creates them on a first
// install and never updates them; CRDs are never deleted here. It returns the CRD names.
func (c *Client) ApplyCRDs(ctx context.Context, ch *Chart) ([]string, error) {
	var names []string
	var established []*resource.Info
	for _, crd := range ch.chart.CRDObjects() {
		infos, err := c.cfg.KubeClient.Build(bytes.NewReader(crd.File.Data), false)
		if err != nil {
			return names, fmt.Errorf("read CRD file %s: %w", crd.Filename, err)
		}
		for _, info := range infos {
			data, err := json.Marshal(info.Object)
			if err != nil {
				return names, err
			}
			force := true
			helper := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(crdFieldManager)
			if _, err := helper.Patch(info.Namespace, info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &force}); err != nil {
				return names, fmt.Errorf("apply CRD %q from %s: %w", info.Name, crd.Filename, err)
			}
			names = append(names, info.Name)
			established = append(established, info)
		}
	}
	if len(established) == 0 {
		return nil, nil
	}
	for _, info := range established {
		if err := waitEstablished(ctx, info); err != nil {
			return names, err
		}
	}
	c.forgetAPIResources()
	return names, nil
}

func waitEstablished(ctx context.Context, info *resource.Info) error {
	helper := resource.NewHelper(info.Client, info.Mapping)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		obj, err := helper.Get("", info.Name)
		if err != nil {
			return false, nil
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %q is not established after applying it: %w", info.Name, err)
	}
	return nil
}

// forgetAPIResources drops the cached discovery, so that objects of new CRDs can be built.
func (c *Client) forgetAPIResources() {
	if dc, err := c.getter.ToDiscoveryClient(); err == nil {
		dc.Invalidate()
	}
	if mapper, err := c.getter.ToRESTMapper(); err == nil {
		if r, ok := mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
	}
}
