package helmsdk

import (
	"fmt"
	"reflect"
	"testing"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

func TestSpareDecidesWhatAnUninstallDeletes(t *testing.T) {
	release := map[string]string{annotationReleaseName: "shop", annotationReleaseNamespace: "prod"}
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
		name  string
		hooks bool
		ann   map[string]string
		want  *SparedObject // nil: deleted
	}{
		{"the release's object", false, release, nil},
		{"another release's object", false, map[string]string{annotationReleaseName: "other", annotationReleaseNamespace: "prod"}, &SparedObject{Owner: "other"}},
		{"an object without release metadata", false, nil, &SparedObject{}},
		{"owned by anyone", false, with(map[string]string{AnnotationOwnership: OwnershipAnyone}), &SparedObject{Reason: SparedOwnedByAnyone}},
		{"werf keep", false, with(map[string]string{annotationWerfResourcePolicy: "keep"}), &SparedObject{Reason: SparedKept}},
		// Helm leaves the release's helm.sh/resource-policy: keep objects out by their manifest.
		{"helm keep on the release's object", false, with(map[string]string{annotationHelmResourcePolicy: "keep"}), nil},
		{"a hook (no release metadata)", true, nil, nil},
		{"a hook with the release's metadata", true, release, nil},
		{"a hook taken over by another release", true, map[string]string{annotationReleaseName: "other", annotationReleaseNamespace: "prod"}, &SparedObject{Owner: "other"}},
		{"a hook with helm keep", true, map[string]string{annotationHelmResourcePolicy: "keep"}, &SparedObject{Reason: SparedHelmKept}},
		{"a hook with werf keep", true, map[string]string{annotationWerfResourcePolicy: "keep"}, &SparedObject{Reason: SparedKept}},
		{"a hook owned by anyone", true, map[string]string{AnnotationOwnership: OwnershipAnyone}, &SparedObject{Reason: SparedOwnedByAnyone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &ownership{release: "shop", namespace: "prod", hooks: tt.hooks}
			got := o.spare("Deployment", "web", tt.ann)
			if tt.want != nil {
				tt.want.Kind, tt.want.Name = "Deployment", "web"
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("spare = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDroppedManifestIsTheLastDeployedRevisions: after failed upgrades, an uninstall also
// deletes what the newest revision that deployed held (its objects stay live when a failed
// upgrade drops them); after a successful upgrade there is nothing of the kind.
func TestDroppedManifestIsTheLastDeployedRevisions(t *testing.T) {
	tests := []struct {
		name     string
		statuses []release.Status
		want     string // the manifest of that revision: "rev N"
	}{
		{"one revision", []release.Status{release.StatusFailed}, ""},
		{"newest deployed", []release.Status{release.StatusSuperseded, release.StatusDeployed}, ""},
		{"failed after deployed", []release.Status{release.StatusSuperseded, release.StatusDeployed, release.StatusFailed}, "rev 2"},
		{"failed twice after superseded", []release.Status{release.StatusSuperseded, release.StatusFailed, release.StatusFailed}, "rev 1"},
		{"rollback deployed, then failed", []release.Status{release.StatusSuperseded, release.StatusSuperseded, release.StatusFailed, release.StatusDeployed, release.StatusFailed}, "rev 4"},
		{"never deployed", []release.Status{release.StatusFailed, release.StatusFailed}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			releases := storage.Init(driver.NewMemory())
			for _, rel := range history(tt.statuses...) {
				rel.Manifest = fmt.Sprintf("rev %d", rel.Version)
				if err := releases.Create(rel); err != nil {
					t.Fatal(err)
				}
			}
			if got := droppedManifest(releases, "app"); got != tt.want {
				t.Fatalf("droppedManifest = %q, want %q", got, tt.want)
			}
		})
	}
}
