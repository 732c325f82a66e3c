package inputs

import (
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/manifest"
)

func TestObjectCheckerRefusesBrokenObjects(t *testing.T) {
	const cm = "---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\n"
	tests := []struct {
		name   string
		stream string
		want   string // "" accepts
	}{
		{"valid objects", cm + "---\n# Source: app/templates/b.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n", ""},
		{"same name, other kind", cm + "---\n# Source: app/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: config}\n", ""},
		{"same name, other namespace", cm + "---\n# Source: app/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: other}\n", ""},
		{"RBAC names may hold colons", "---\n# Source: app/templates/r.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: 'system:app:Reader'}\n", ""},
		{"comment-only document", "---\n# Source: app/templates/empty.yaml\n# nothing here\n", ""},
		{"duplicate across files", cm + "---\n# Source: app/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\n",
			`app/templates/a.yaml and app/templates/b.yaml both define ConfigMap "config": remove one of them`},
		{"duplicate in one file", cm + "---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\n",
			`app/templates/a.yaml: defines ConfigMap "config" twice`},
		{"no apiVersion", "---\n# Source: app/templates/x.yaml\nkind: ConfigMap\nmetadata: {name: x}\n", `app/templates/x.yaml: an object has no apiVersion`},
		{"no kind", "---\n# Source: app/templates/x.yaml\napiVersion: v1\nmetadata: {name: x}\n", `app/templates/x.yaml: an object has no kind`},
		{"no name", "---\n# Source: app/templates/x.yaml\napiVersion: v1\nkind: Secret\nmetadata: {labels: {}}\n", `app/templates/x.yaml: Secret has no metadata.name`},
		{"uppercase ConfigMap name", "---\n# Source: app/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: Config}\n", `app/templates/x.yaml: ConfigMap name "Config" is invalid`},
		{"dotted Service name", "---\n# Source: app/templates/x.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: web.v2}\n", `app/templates/x.yaml: Service name "web.v2" is invalid`},
		{"slash in a custom resource name", "---\n# Source: app/templates/x.yaml\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a/b}\n", `Widget name "a/b" is invalid`},
		{"no source comment", "apiVersion: v1\nmetadata: {name: x}\n", `the rendered manifest: an object has no kind`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checker := newObjectChecker()
			_, err := manifest.Edit([]byte(tt.stream), checker.check)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
