package inject

import (
	"reflect"
	"testing"
)

// TestFitNeverRetypes: service values replace a value of their own kind and merge into maps
// (werf's precedence), and leave out every key where the chart's or the user's values hold
// another kind.
func TestFitNeverRetypes(t *testing.T) {
	service := ServiceValues{Env: "prod", Namespace: "shop", Images: Images{"web": "reg.io/web:1"}}.Values()
	tests := []struct {
		name    string
		defined map[string]any
		check   func(t *testing.T, fitted map[string]any)
		left    []string
	}{
		{
			name:    "nothing defined: all of them",
			defined: map[string]any{"replicas": float64(2)},
			check: func(t *testing.T, fitted map[string]any) {
				if !reflect.DeepEqual(fitted, service) {
					t.Fatalf("fitted %v, want all the service values", fitted)
				}
			},
		},
		{
			name:    "a list of the chart stays: global.env",
			defined: map[string]any{"global": map[string]any{"env": []any{map[string]any{"name": "A", "value": "1"}}}},
			check: func(t *testing.T, fitted map[string]any) {
				global := fitted["global"].(map[string]any)
				if _, ok := global["env"]; ok {
					t.Fatalf("global.env kept: %v", global)
				}
				if _, ok := global["werf"]; !ok {
					t.Fatalf("global.werf dropped with global.env: %v", global)
				}
			},
			left: []string{"global.env"},
		},
		{
			name:    "a string of the chart is replaced: werf's precedence",
			defined: map[string]any{"global": map[string]any{"env": "dev"}, "werf": map[string]any{"image": map[string]any{"web": "placeholder"}}},
			check: func(t *testing.T, fitted map[string]any) {
				if got := fitted["global"].(map[string]any)["env"]; got != "prod" {
					t.Fatalf("global.env = %v, want the service value", got)
				}
				if got := fitted["werf"].(map[string]any)["image"].(map[string]any)["web"]; got != "reg.io/web:1" {
					t.Fatalf("werf.image.web = %v, want the --image ref", got)
				}
			},
		},
		{
			name:    "a scalar of the chart where the service value is a map",
			defined: map[string]any{"werf": "disabled", "global": "x"},
			check: func(t *testing.T, fitted map[string]any) {
				if len(fitted) != 0 {
					t.Fatalf("fitted %v, want nothing", fitted)
				}
			},
			left: []string{"global", "werf"},
		},
		{
			name:    "a number or a map where the service value is a string",
			defined: map[string]any{"werf": map[string]any{"env": float64(1), "namespace": map[string]any{"a": "b"}}},
			check: func(t *testing.T, fitted map[string]any) {
				werf := fitted["werf"].(map[string]any)
				if _, ok := werf["env"]; ok {
					t.Fatalf("werf.env kept: %v", werf)
				}
				if werf["repo"] != "" {
					t.Fatalf("werf.repo dropped: %v", werf)
				}
			},
			left: []string{"werf.env", "werf.namespace"},
		},
		{
			name:    "null counts as not defined",
			defined: map[string]any{"global": nil},
			check: func(t *testing.T, fitted map[string]any) {
				if fitted["global"].(map[string]any)["env"] != "prod" {
					t.Fatalf("fitted %v", fitted)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fitted, left := Fit(service, tt.defined)
			tt.check(t, fitted)
			if !reflect.DeepEqual(left, tt.left) {
				t.Fatalf("left out %v, want %v", left, tt.left)
			}
		})
	}
}

func TestTemplatesRead(t *testing.T) {
	for in, want := range map[string]bool{
		`{{ .Values.werf.image.web }}`:                     true,
		`{{ $.Values.global.werf.images.web.ref }}`:        true,
		`{{ index .Values.werf.tag "web" }}`:               true,
		`{{ .Values.global.env }}`:                         false,
		`{{ .Values.werfless }}`:                           false,
		`{{ .Values.global.werfish }} {{ .Values.image }}`: false,
	} {
		if got := TemplatesRead.MatchString(in); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}
