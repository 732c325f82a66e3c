package helmsdk

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"sigs.k8s.io/yaml"
)

func objectInfo(t *testing.T, doc string) *resource.Info {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	gvk := u.GroupVersionKind()
	return &resource.Info{Name: u.GetName(), Namespace: "ns", Object: u, Mapping: &meta.RESTMapping{GroupVersionKind: gvk, Resource: schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}, Scope: meta.RESTScopeNamespace}}
}

const manifestConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ns}
data: {a: b}
`

// liveConfigMap is the live ConfigMap "settings": metadata (an "annotations: {...}" line or
// ""), data, and its managed-fields entries in flow style.
func liveConfigMap(metadata, data string, managedFields ...string) string {
	out := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ns\n"
	if metadata != "" {
		out += "  " + metadata + "\n"
	}
	out += "  managedFields:\n"
	for _, f := range managedFields {
		out += "  " + f + "\n"
	}
	return out + "data: " + data + "\n"
}

const manifestDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - {name: MODE, value: prod}
`

func TestHelmPatchRemovesManualChanges(t *testing.T) {
	tests := []struct {
		name       string
		manifest   string
		live       string
		keepManual bool
		want       []string
		wantNot    []string
	}{
		{
			name:     "a data key added with kubectl patch is removed",
			manifest: manifestConfigMap,
			live: liveConfigMap("", `{a: b, extra: "1"}`,
				`- {manager: kubectl-converge, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:data": {".": {}, "f:a": {}}}}`,
				`- {manager: kubectl-patch, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:extra": {}}}}`,
			),
			want: []string{`"extra":null`},
		},
		{
			name:       "kept with --no-remove-manual-changes, as Helm 3 does",
			manifest:   manifestConfigMap,
			keepManual: true,
			live: liveConfigMap("", `{a: b, extra: "1"}`,
				`- {manager: kubectl-edit, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:extra": {}}}}`,
			),
			wantNot: []string{`extra`},
		},
		{
			name:     "a field another manager owns as well stays",
			manifest: manifestConfigMap,
			live: liveConfigMap("", `{a: b, extra: "1"}`,
				`- {manager: kubectl-edit, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:extra": {}}}}`,
				`- {manager: some-operator, operation: Apply, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:extra": {}}}}`,
			),
			wantNot: []string{`extra`},
		},
		{
			name:     "a manual change of a chart's value is set back, nothing else removed",
			manifest: manifestConfigMap,
			live: liveConfigMap("annotations: {team: x}", `{a: changed}`,
				`- {manager: kubectl-edit, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}, "f:metadata": {"f:annotations": {".": {}}}}}`,
			),
			want:    []string{`"a":"b"`},
			wantNot: []string{`annotations`},
		},
		{
			name:     "an env var added to a container with kubectl edit is removed by its key",
			manifest: manifestDeployment,
			live: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ns
  managedFields:
  - manager: kubectl-edit
    operation: Update
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:env": {"k:{\"name\":\"DEBUG\"}": {".": {}, "f:name": {}, "f:value": {}}}}}}}}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - {name: MODE, value: prod}
        - {name: DEBUG, value: "1"}
`,
			want:    []string{`{"$patch":"delete","name":"DEBUG"}`},
			wantNot: []string{`{"$patch":"delete","name":"MODE"}`},
		},
		{
			name:     "kubectl rollout restart is not a manual change",
			manifest: manifestDeployment,
			live: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ns
  managedFields:
  - {manager: kubectl-rollout, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {}}}}}}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {kubectl.kubernetes.io/restartedAt: "2026-12-02T10:00:00Z"}
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - {name: MODE, value: prod}
`,
			wantNot: []string{`restartedAt`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := objectInfo(t, tt.manifest)
			previous := objectInfo(t, tt.manifest)
			live := objectInfo(t, tt.live).Object.(*unstructured.Unstructured)
			patch, _, err := helmPatch(previous, target, live, patchOptions{keepManual: tt.keepManual})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(patch), w) {
					t.Errorf("patch %s does not contain %s", patch, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(string(patch), w) {
					t.Errorf("patch %s contains %s", patch, w)
				}
			}
		})
	}
}
