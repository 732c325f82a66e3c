package helmsdk

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/release"
)

func TestApplyWerfHookWeights(t *testing.T) {
	hook := func(annotations string) *release.Hook {
		return &release.Hook{Name: "migrate", Kind: "Job", Path: "chart/templates/migrate.yaml", Weight: 3,
			Manifest: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {" + annotations + "}\n"}
	}
	tests := []struct {
		name        string
		annotations string
		want        int
		wantErr     string
	}{
		{name: "helm's weight alone stays", annotations: `helm.sh/hook-weight: "3"`, want: 3},
		{name: "werf's weight wins", annotations: `helm.sh/hook-weight: "3", werf.io/weight: "-10"`, want: -10},
		{name: "werf's weight without helm's", annotations: `werf.io/weight: "7"`, want: 7},
		{name: "werf.io/weight mentioned in another annotation only", annotations: `note: "see werf.io/weight"`, want: 3},
		{name: "invalid werf weight", annotations: `werf.io/weight: "soon"`, wantErr: `hook Job "migrate" (chart/templates/migrate.yaml): annotation werf.io/weight: invalid value "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hook(tt.annotations)
			err := applyWerfHookWeights([]*release.Hook{h})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Weight != tt.want {
				t.Fatalf("weight %d, want %d", h.Weight, tt.want)
			}
		})
	}
}
