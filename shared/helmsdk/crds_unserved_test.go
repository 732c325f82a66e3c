package helmsdk

import (
	"context"
	"slices"
	"testing"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
)

// TestUnchangedCRDsAgreeWithPlan: a second ApplyCRDs leaves alone each CRD the first one
// applied, as PlanCRDs says it would, also a CRD none of whose versions is served
// (discovery never lists it: it was applied again on every run while the plan said
// unchanged).
func TestUnchangedCRDsAgreeWithPlan(t *testing.T) {
	crd := func(name, served string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: " + name + "s.example.test}\n" +
			"spec:\n  group: example.test\n  names: {kind: K" + name + ", plural: " + name + "s, singular: " + name + "}\n  scope: Namespaced\n" +
			"  versions:\n  - name: v1\n    served: " + served + "\n    storage: true\n    schema: {openAPIV3Schema: {type: object}}\n"
	}
	for _, tc := range []struct{ name, served string }{
		{"served", "true"},
		{"unserved", "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := charts.LoadChartFiles("app", map[string][]byte{
				"Chart.yaml":      []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n"),
				"crds/crd.yaml":   []byte(crd(tc.name, tc.served)),
				"templates/x.txt": []byte(""),
			})
			if err != nil {
				t.Fatal(err)
			}
			cluster := fakecluster.New(t, "ns")
			client, err := NewClient(Config{Getter: cluster.Getter(), Namespace: "ns", Driver: "memory"})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.name + "s.example.test"
			if res, err := client.ApplyCRDs(context.Background(), ch); err != nil || !slices.Equal(res.Applied, []string{want}) {
				t.Fatalf("first ApplyCRDs: %+v, %v; want %s applied", res, err, want)
			}
			plans, err := client.PlanCRDs(context.Background(), ch)
			if err != nil || len(plans) != 1 || !plans[0].Unchanged {
				t.Fatalf("PlanCRDs after the apply: %+v, %v; want %s unchanged", plans, err, want)
			}
			res, err := client.ApplyCRDs(context.Background(), ch)
			if err != nil || len(res.Applied) != 0 || !slices.Equal(res.Unchanged, []string{want}) {
				t.Fatalf("second ApplyCRDs: %+v, %v; want %s unchanged, as planned", res, err, want)
			}
		})
	}
}
