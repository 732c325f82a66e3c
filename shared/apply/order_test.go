package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func objectsOf(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
		out = append(out, u)
	}
	return out
}

// layout renders a plan as "weight: wave | wave; weight: ..." with kind/name items.
func layout(p *applyOrder) string {
	var groups []string
	for _, g := range p.groups {
		var waves []string
		for _, w := range g.waves {
			var names []string
			for _, s := range w {
				names = append(names, Describe(s.obj))
			}
			waves = append(waves, strings.Join(names, ","))
		}
		groups = append(groups, g.label()+": "+strings.Join(waves, " | "))
	}
	return strings.Join(groups, "; ")
}

func TestOrderObjects(t *testing.T) {
	tests := []struct {
		name    string
		objects []string
		want    string
		wantErr string
		warning string
	}{
		{
			name: "weights ascending, CRDs and namespaces first",
			objects: []string{
				"kind: ConfigMap\nmetadata: {name: late, annotations: {werf.io/weight: '10'}}",
				"kind: ConfigMap\nmetadata: {name: plain}",
				"kind: CustomResourceDefinition\nmetadata: {name: crd, annotations: {werf.io/weight: '50'}}",
				"kind: ConfigMap\nmetadata: {name: early, annotations: {werf.io/weight: '-5'}}",
			},
			want: "CRDs and namespaces: CustomResourceDefinition/crd; weight -5: ConfigMap/early; weight 0: ConfigMap/plain; weight 10: ConfigMap/late",
		},
		{
			name: "a workload waits for the ConfigMap, Secret, ServiceAccount and PVC it uses",
			objects: []string{
				`kind: Deployment
metadata: {name: app}
spec:
  template:
    spec:
      serviceAccountName: runner
      volumes: [{name: c, configMap: {name: conf}}, {name: d, persistentVolumeClaim: {claimName: data}}, {name: o, configMap: {name: optional, optional: true}}]
      containers: [{name: a, env: [{name: P, valueFrom: {secretKeyRef: {name: creds, key: p}}}]}]`,
				"kind: ConfigMap\nmetadata: {name: conf}",
				"kind: ConfigMap\nmetadata: {name: optional}",
				"kind: Secret\nmetadata: {name: creds}",
				"kind: ServiceAccount\nmetadata: {name: runner}",
				"kind: PersistentVolumeClaim\nmetadata: {name: data}",
			},
			want: "weight 0: ConfigMap/conf,ConfigMap/optional,Secret/creds,ServiceAccount/runner,PersistentVolumeClaim/data | Deployment/app",
		},
		{
			name: "an inferred dependency on a heavier object does not move the workload",
			objects: []string{
				"kind: CronJob\nmetadata: {name: job}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a, envFrom: [{configMapRef: {name: conf}}]}]}}}}}",
				"kind: ConfigMap\nmetadata: {name: conf, annotations: {werf.io/weight: '5'}}",
			},
			want: "weight 0: CronJob/job; weight 5: ConfigMap/conf",
		},
		{
			name: "a declared dependency on a heavier object raises the dependent's weight",
			objects: []string{
				"kind: Job\nmetadata: {name: migrate, annotations: {werf.io/deploy-dependency-db: 'state=ready,kind=StatefulSet,name=db'}}",
				"kind: StatefulSet\nmetadata: {name: db, annotations: {werf.io/weight: '5'}}",
			},
			want: "weight 5: StatefulSet/db | Job/migrate",
		},
		{
			name: "declared dependencies chain inside a group",
			objects: []string{
				"kind: Deployment\nmetadata: {name: c, annotations: {werf.io/deploy-dependency-b: 'name=b'}}",
				"kind: Deployment\nmetadata: {name: b, annotations: {werf.io/deploy-dependency-a: 'state=present,name=a'}}",
				"kind: Deployment\nmetadata: {name: a}",
			},
			want: "weight 0: Deployment/a | Deployment/b | Deployment/c",
		},
		{
			name: "a dependency matching nothing is a warning",
			objects: []string{
				"kind: Deployment\nmetadata: {name: a, annotations: {werf.io/deploy-dependency-x: 'kind=Service,name=missing'}}",
			},
			want:    "weight 0: Deployment/a",
			warning: `Deployment "a": werf.io/deploy-dependency-x matches no object of the release`,
		},
		{
			name: "a dependency in another namespace does not match",
			objects: []string{
				"kind: Deployment\nmetadata: {name: a, annotations: {werf.io/deploy-dependency-x: 'name=b'}}",
				"kind: Deployment\nmetadata: {name: b, namespace: other}",
			},
			want:    "weight 0: Deployment/a,Deployment/b",
			warning: "matches no object",
		},
		{
			name: "a cycle is an error naming it",
			objects: []string{
				"kind: Deployment\nmetadata: {name: a, annotations: {werf.io/deploy-dependency-b: 'name=b'}}",
				"kind: Deployment\nmetadata: {name: b, annotations: {werf.io/deploy-dependency-a: 'name=a'}}",
			},
			wantErr: "deploy dependencies form a cycle: Deployment/a -> Deployment/b -> Deployment/a",
		},
		{
			name:    "a bad weight names the object and the annotation",
			objects: []string{"kind: ConfigMap\nmetadata: {name: bad, annotations: {werf.io/weight: heavy}}"},
			wantErr: `ConfigMap "bad": annotation werf.io/weight: invalid value "heavy": want a whole number such as -10 or 5`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := orderObjects(objectsOf(t, tt.objects...), "ns")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := layout(plan); got != tt.want {
				t.Fatalf("plan\n got: %s\nwant: %s", got, tt.want)
			}
			warnings := strings.Join(plan.warnings, "\n")
			if (tt.warning == "") != (warnings == "") || !strings.Contains(warnings, tt.warning) {
				t.Fatalf("warnings %q, want %q", warnings, tt.warning)
			}
		})
	}
}
