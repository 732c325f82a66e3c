package drivers

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/release"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func TestApplyWerfHookAnnotations(t *testing.T) {
	hook := func(annotations string) *release.Hook {
		return &release.Hook{Name: "migrate", Kind: "Job", Path: "chart/templates/migrate.yaml", Weight: 3,
			Manifest: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install, " + annotations + "}\n"}
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
		{name: "werf.io/weight mentioned in another annotation only", annotations: `helm.sh/hook-weight: "3", note: "see werf.io/weight"`, want: 3},
		{name: "invalid werf weight", annotations: `werf.io/weight: "soon"`, wantErr: `hook Job "migrate" (chart/templates/migrate.yaml): annotation werf.io/weight: invalid value "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hook(tt.annotations)
			err := applyWerfHookAnnotations([]*release.Hook{h})
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			if h.Weight != tt.want {
				t.Fatalf("weight %d, want %d", h.Weight, tt.want)
			}
		})
	}
}

func TestWerfDeletePolicyOnHooks(t *testing.T) {
	tests := []struct {
		name    string
		helm    string
		value   string
		want    string
		wantErr string
	}{
		{name: "succeeded", value: "succeeded", want: "before-hook-creation hook-succeeded"},
		{name: "failed and helm's own kept", value: "failed", helm: "hook-succeeded", want: "before-hook-creation hook-failed hook-succeeded"},
		{name: "before-creation", value: "before-creation", want: "before-hook-creation"},
		{name: "typo", value: "succeded", wantErr: `annotation werf.io/delete-policy: invalid value "succeded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var existing []release.HookDeletePolicy
			if tt.helm != "" {
				existing = []release.HookDeletePolicy{release.HookDeletePolicy(tt.helm)}
			}
			h := &release.Hook{Name: "migrate", Kind: "Job", DeletePolicies: existing,
				Manifest: "kind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: \"" + tt.helm + "\", werf.io/delete-policy: \"" + tt.value + "\"}\n"}
			err := applyWerfHookAnnotations([]*release.Hook{h})
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			var got []string
			for _, p := range h.DeletePolicies {
				got = append(got, string(p))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Fatalf("policies %q, want %q", g, tt.want)
			}
		})
	}
}
