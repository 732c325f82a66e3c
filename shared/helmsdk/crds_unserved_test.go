package helmsdk

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
)

// TestUnchangedCRDsAgreeWithPlan: a second ApplyCRDs leaves alone each CRD the first one
// applied, as PlanCRDs says it would, also a CRD none of whose versions is served
// (discovery never lists it: it was applied again on every run while the plan said
// unchanged), and when the deployer may read CRDs by name but not list them (every CRD was
// applied again on every run).
func TestUnchangedCRDsAgreeWithPlan(t *testing.T) {
	crd := func(name, served string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: " + name + "s.example.test}\n" +
			"spec:\n  group: example.test\n  names: {kind: K" + name + ", plural: " + name + "s, singular: " + name + "}\n  scope: Namespaced\n" +
			"  versions:\n  - name: v1\n    served: " + served + "\n    storage: true\n    schema: {openAPIV3Schema: {type: object}}\n"
	}
	for _, tc := range []struct {
		name, served string
		unlistable   bool
	}{
		{"served", "true", false},
		{"unserved", "false", false},
		{"unlistable", "true", true},
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
			var getter genericclioptions.RESTClientGetter = cluster.Getter()
			if tc.unlistable {
				getter = crdListForbidden{getter}
			}
			client, err := NewClient(Config{Getter: getter, Namespace: "ns", Driver: "memory"})
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

// crdListForbidden is a getter whose clients are refused a list of the CRDs, as a deployer
// allowed to get them by name only is.
type crdListForbidden struct {
	genericclioptions.RESTClientGetter
}

func (g crdListForbidden) ToRESTConfig() (*rest.Config, error) {
	cfg, err := g.RESTClientGetter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/customresourcedefinitions") {
				body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"customresourcedefinitions.apiextensions.k8s.io is forbidden: cannot list"}`
				return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
			}
			return next.RoundTrip(r)
		})
	})
	return cfg, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
