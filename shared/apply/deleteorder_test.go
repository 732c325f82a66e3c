package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func deletionInfo(apiVersion, kind, name string, annotations map[string]string) *resource.Info {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	u.SetAnnotations(annotations)
	return &resource.Info{Name: name, Object: u}
}

func TestDeleteWaves(t *testing.T) {
	ing := deletionInfo("networking.k8s.io/v1", "Ingress", "web", nil)
	svc := deletionInfo("v1", "Service", "web", map[string]string{"werf.io/delete-dependency-ing": "state=absent,kind=Ingress,name=web"})
	cm := deletionInfo("v1", "ConfigMap", "settings", nil)
	deploy := deletionInfo("apps/v1", "Deployment", "web", map[string]string{"werf.io/delete-dependency-svc": "kind=Service"})
	tests := []struct {
		name    string
		objects []*resource.Info
		want    string
		wantErr string
	}{
		{name: "no dependencies: one wave", objects: []*resource.Info{cm, ing}, want: "ConfigMap/settings Ingress/web"},
		{name: "the service goes after the ingress is gone", objects: []*resource.Info{svc, cm, ing}, want: "ConfigMap/settings Ingress/web | Service/web"},
		{name: "a chain", objects: []*resource.Info{deploy, svc, ing}, want: "Ingress/web | Service/web | Deployment/web"},
		{name: "a dependency on an object not deleted does not wait", objects: []*resource.Info{svc, cm}, want: "Service/web ConfigMap/settings"},
		{name: "a cycle", objects: []*resource.Info{
			deletionInfo("v1", "ConfigMap", "a", map[string]string{"werf.io/delete-dependency-b": "name=b"}),
			deletionInfo("v1", "ConfigMap", "b", map[string]string{"werf.io/delete-dependency-a": "name=a"}),
		}, wantErr: "ConfigMap/a, ConfigMap/b: the delete dependencies of these objects wait for each other"},
		{name: "a delete dependency is about absence", objects: []*resource.Info{
			deletionInfo("v1", "ConfigMap", "a", map[string]string{"werf.io/delete-dependency-b": "state=ready,name=b"}),
		}, wantErr: `annotation werf.io/delete-dependency-b: invalid value "state=ready,name=b": state "ready": want absent`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waves, err := DeleteWaves(tt.objects, "ns")
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			var got []string
			for _, w := range waves {
				var names []string
				for _, info := range w {
					names = append(names, Describe(info.Object.(*unstructured.Unstructured)))
				}
				got = append(got, strings.Join(names, " "))
			}
			if g := strings.Join(got, " | "); g != tt.want {
				t.Fatalf("waves %q, want %q", g, tt.want)
			}
		})
	}
}
