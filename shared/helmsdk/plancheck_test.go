package helmsdk

import (
	"context"
	"errors"
	"testing"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
)

// TestExpectHooksDigestRefusesBeforeAnything: an install whose hooks are not the expected
// ones is refused as Helm stores the revision, before any hook or object reaches the
// cluster; the expected hooks install.
func TestExpectHooksDigestRefusesBeforeAnything(t *testing.T) {
	t.Setenv("HELM_MEMORY_DRIVER_DATA", "")
	ch, err := charts.LoadChartFiles("app", map[string][]byte{
		"Chart.yaml":          []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n"),
		"templates/cm.yaml":   []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"),
		"templates/hook.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\ndata: {command: echo}\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		expect func(*Preview) string
		refuse bool
	}{
		{"other hooks", func(*Preview) string { return ManifestDigest([]byte("reviewed hooks")) }, true},
		{"the reviewed hooks", func(pv *Preview) string { return ManifestDigest(HooksManifest(pv.Release.Hooks)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster := fakecluster.New(t, "ns")
			client, err := NewClient(Config{Getter: cluster.Getter(), Namespace: "ns", Driver: "memory"})
			if err != nil {
				t.Fatal(err)
			}
			req := UpgradeRequest{ReleaseName: "app", Chart: ch}
			pv, err := client.Preview(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req.ExpectHooksDigest = tc.expect(pv)
			_, err = client.UpgradeOrInstall(context.Background(), req)
			if !tc.refuse {
				if err != nil || cluster.Get("ConfigMap", "ns", "migrate") == nil || cluster.Get("ConfigMap", "ns", "settings") == nil {
					t.Fatalf("error %v; want the hook and the object installed", err)
				}
				return
			}
			if !errors.Is(err, ErrPlanOutdated) {
				t.Fatalf("error %v, want the plan refused", err)
			}
			for _, w := range cluster.Writes() {
				if !w.DryRun && w.Kind != "Namespace" {
					t.Fatalf("a refused install wrote %s %s/%s", w.Verb, w.Kind, w.Name)
				}
			}
			if _, err := client.Last("app"); !errors.Is(err, ErrReleaseNotFound) {
				t.Fatalf("a refused install recorded a revision: %v", err)
			}
		})
	}
}
