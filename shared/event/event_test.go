package event

import "testing"

func TestRefNames(t *testing.T) {
	tests := []struct {
		name         string
		ref          Ref
		wantString   string
		wantKindName string
	}{
		{name: "short built-in kind", ref: Ref{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"}, wantString: "deploy/web", wantKindName: "Deployment/web"},
		{name: "core kind without a short name", ref: Ref{Version: "v1", Kind: "Endpoints", Name: "web"}, wantString: "endpoints/web", wantKindName: "Endpoints/web"},
		{name: "kind of a non-builtin group", ref: Ref{Group: "serving.knative.dev", Kind: "Service", Name: "web"}, wantString: "service.serving.knative.dev/web", wantKindName: "Service.serving.knative.dev/web"},
		{name: "CRD has a short name but reads with its group in plans", ref: Ref{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "x.example.com"}, wantString: "crd/x.example.com", wantKindName: "CustomResourceDefinition.apiextensions.k8s.io/x.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ref.String(); got != tt.wantString {
				t.Errorf("String() = %q, want %q", got, tt.wantString)
			}
			if got := tt.ref.KindName(); got != tt.wantKindName {
				t.Errorf("KindName() = %q, want %q", got, tt.wantKindName)
			}
		})
	}
}
