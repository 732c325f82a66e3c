package helmsdk

import (
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
	"reflect"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// deletedAs is how an uninstall comes to delete an object.
type deletedAs int

const (
	releaseObject deletedAs = iota // in the newest revision: Helm's uninstall
	hook                           // a hook of any revision, after Helm's uninstall
	leftover                       // left by a failed revision, after Helm's uninstall
)

func TestUninstallDecidesWhatItDeletes(t *testing.T) {
	release := map[string]string{lifecycle.AnnotationReleaseName: "shop", lifecycle.AnnotationReleaseNamespace: "prod"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range []map[string]string{release, extra} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name string
		kind deletedAs
		ann  map[string]string
		want *SparedObject // nil: deleted
	}{
		{"the release's object", releaseObject, release, nil},
		{"another release's object", releaseObject, map[string]string{lifecycle.AnnotationReleaseName: "other", lifecycle.AnnotationReleaseNamespace: "prod"}, &SparedObject{Owner: "other"}},
		{"an object without release metadata", releaseObject, nil, &SparedObject{}},
		{"owned by anyone", releaseObject, with(map[string]string{lifecycle.AnnotationOwnership: string(lifecycle.OwnershipAnyone)}), &SparedObject{Reason: SparedOwnedByAnyone}},
		{"werf keep", releaseObject, with(map[string]string{lifecycle.AnnotationWerfResourcePolicy: "keep"}), &SparedObject{Reason: SparedKept}},
		// Helm leaves the release's helm.sh/resource-policy: keep objects out by their manifest;
		// on the live object it keeps them too, as the deploy does (lifecycle.Decide).
		{"helm keep on the release's object", releaseObject, with(map[string]string{lifecycle.AnnotationHelmResourcePolicy: "keep"}), &SparedObject{Reason: SparedHelmKept}},
		{"a hook (no release metadata)", hook, nil, nil},
		{"a hook with the release's metadata", hook, release, nil},
		{"a hook taken over by another release", hook, map[string]string{lifecycle.AnnotationReleaseName: "other", lifecycle.AnnotationReleaseNamespace: "prod"}, &SparedObject{Owner: "other"}},
		{"a hook with helm keep", hook, map[string]string{lifecycle.AnnotationHelmResourcePolicy: "keep"}, &SparedObject{Reason: SparedHelmKept}},
		{"a hook with werf keep", hook, map[string]string{lifecycle.AnnotationWerfResourcePolicy: "keep"}, &SparedObject{Reason: SparedKept}},
		{"a hook owned by anyone", hook, map[string]string{lifecycle.AnnotationOwnership: string(lifecycle.OwnershipAnyone)}, &SparedObject{Reason: SparedOwnedByAnyone}},
		// What a failed upgrade left: checked live, helm's keep included.
		{"a leftover of the release", leftover, release, nil},
		{"a leftover without release metadata", leftover, nil, &SparedObject{}},
		{"a leftover taken over by another release", leftover, map[string]string{lifecycle.AnnotationReleaseName: "other", lifecycle.AnnotationReleaseNamespace: "prod"}, &SparedObject{Owner: "other"}},
		{"a leftover with helm keep", leftover, with(map[string]string{lifecycle.AnnotationHelmResourcePolicy: "keep"}), &SparedObject{Reason: SparedHelmKept}},
		{"a leftover owned by anyone", leftover, with(map[string]string{lifecycle.AnnotationOwnership: string(lifecycle.OwnershipAnyone)}), &SparedObject{Reason: SparedOwnedByAnyone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &ownership{release: "shop", namespace: "prod", hooks: tt.kind == hook, afterHelm: tt.kind != releaseObject}
			info := &resource.Info{Name: "web", Object: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"}}}}
			var got *SparedObject
			if d := o.decide(info, tt.ann); d.Action != lifecycle.ActionDelete {
				s := spared("Deployment", "web", o.hooks, d)
				got = &s
			}
			if tt.want != nil {
				tt.want.Kind, tt.want.Name, tt.want.Hook = "Deployment", "web", o.hooks
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("spare = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLeftoversAreWhatFailedRevisionsDropped(t *testing.T) {
	manifest := func(names ...string) string {
		var docs []string
		for _, n := range names {
			docs = append(docs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+n+"\n")
		}
		return strings.Join(docs, "---\n")
	}
	type rev struct {
		status helmrelease.Status
		names  []string
	}
	tests := []struct {
		name string
		revs []rev
		want []string // manifests handed on, oldest first
	}{
		{"newest deployed", []rev{{helmrelease.StatusSuperseded, []string{"a", "b"}}, {helmrelease.StatusDeployed, []string{"a"}}}, nil},
		{"one revision", []rev{{helmrelease.StatusFailed, []string{"a"}}}, nil},
		{"failed upgrade after a deployed one", []rev{{helmrelease.StatusDeployed, []string{"a", "b"}}, {helmrelease.StatusFailed, []string{"a"}}}, []string{manifest("a", "b")}},
		{"two failed upgrades", []rev{{helmrelease.StatusSuperseded, []string{"old"}}, {helmrelease.StatusDeployed, []string{"a", "b"}}, {helmrelease.StatusFailed, []string{"a", "c"}}, {helmrelease.StatusFailed, []string{"a"}}}, []string{manifest("a", "b"), manifest("a", "c")}},
		{"never deployed", []rev{{helmrelease.StatusFailed, []string{"a", "b"}}, {helmrelease.StatusFailed, []string{"a"}}}, nil},
		{"rollback deployed, then failed", []rev{{helmrelease.StatusSuperseded, []string{"a"}}, {helmrelease.StatusFailed, []string{"b"}}, {helmrelease.StatusDeployed, []string{"a", "c"}}, {helmrelease.StatusFailed, []string{"a"}}}, []string{manifest("a", "c")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storage.Init(driver.NewMemory())
			for i, r := range tt.revs {
				rel := &helmrelease.Release{Name: "shop", Namespace: "prod", Version: i + 1, Manifest: manifest(r.names...), Info: &helmrelease.Info{Status: r.status}}
				if err := store.Create(rel); err != nil {
					t.Fatal(err)
				}
			}
			if got := leftovers(store, "shop"); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("leftovers = %q, want %q", got, tt.want)
			}
		})
	}
}
