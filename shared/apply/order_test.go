package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/shared/testutil"
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

func TestParseLifecycle(t *testing.T) {
	tests := []struct {
		name        string
		kind        string
		annotations map[string]string
		check       func(Lifecycle) bool
		wantErr     string
	}{
		{name: "defaults", kind: "Deployment", check: func(l Lifecycle) bool {
			// nelm deletes with Foreground propagation by default.
			return l.Weight == 0 && !l.RecreateIfImmutable && !l.RecreateAlways && l.Propagation == "Foreground" && l.ReplicasOnCreation == nil
		}},
		{name: "jobs are recreated on immutable changes by default", kind: "Job", check: func(l Lifecycle) bool { return l.RecreateIfImmutable }},
		{name: "delete policy replaces the Job default", kind: "Job", annotations: map[string]string{"werf.io/delete-policy": "before-creation"},
			check: func(l Lifecycle) bool { return l.RecreateAlways && !l.RecreateIfImmutable }},
		{name: "replicas on creation", kind: "Deployment", annotations: map[string]string{"werf.io/replicas-on-creation": "3"},
			check: func(l Lifecycle) bool { return l.ReplicasOnCreation != nil && *l.ReplicasOnCreation == 3 }},
		{name: "external dependency with namespace", kind: "Deployment", annotations: map[string]string{
			"db.external-dependency.werf.io/resource": "deployments.v1.apps/postgres", "db.external-dependency.werf.io/namespace": "data"},
			check: func(l Lifecycle) bool {
				return len(l.External) == 1 && l.External[0] == ExternalDependency{ID: "db", Resource: "deployments.v1.apps/postgres", Namespace: "data"}
			}},
		{name: "dependency defaults to ready", kind: "Job", annotations: map[string]string{"werf.io/deploy-dependency-db": "kind=StatefulSet,name=db"},
			check: func(l Lifecycle) bool {
				return len(l.Dependencies) == 1 && l.Dependencies[0].State == DependencyStateReady && l.Dependencies[0].Kind == "StatefulSet"
			}},
		{name: "keep", kind: "PersistentVolumeClaim", annotations: map[string]string{"helm.sh/resource-policy": "keep"}, check: func(l Lifecycle) bool { return l.Keep }},
		{name: "keep, nelm's annotation", kind: "PersistentVolumeClaim", annotations: map[string]string{"werf.io/resource-policy": "keep"}, check: func(l Lifecycle) bool { return l.Keep }},
		{name: "external dependency, nelm's short form", kind: "Deployment", annotations: map[string]string{"gw.external-dependency.werf.io": "apps/v1:Deployment:infra:gateway", "cfg.external-dependency.werf.io": "v1:Secret:config"},
			check: func(l Lifecycle) bool {
				return len(l.External) == 2 && l.External[0] == ExternalDependency{ID: "cfg", APIVersion: "v1", Kind: "Secret", Name: "config"} &&
					l.External[1] == ExternalDependency{ID: "gw", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "infra", Name: "gateway"}
			}},
		{name: "internal dependency, nelm's short form", kind: "Deployment", annotations: map[string]string{"cfg.dependency.werf.io": "v1:ConfigMap:settings", "db.dependency.werf.io": "apps/v1:StatefulSet:data:db"},
			check: func(l Lifecycle) bool {
				return len(l.Dependencies) == 2 && l.Dependencies[0] == Dependency{ID: "cfg", State: DependencyStatePresent, Version: "v1", Kind: "ConfigMap", Name: "settings"} &&
					l.Dependencies[1] == Dependency{ID: "db", State: DependencyStatePresent, Group: "apps", Version: "v1", Kind: "StatefulSet", Namespace: "data", Name: "db"}
			}},
		{name: "internal dependency short form without a name", kind: "Job", annotations: map[string]string{"x.dependency.werf.io": "v1:ConfigMap"},
			wantErr: "want apiVersion:kind[:namespace]:name of an object of the release"},
		{name: "external dependency short form without a name", kind: "Job", annotations: map[string]string{"x.external-dependency.werf.io": "v1:Secret"},
			wantErr: "want apiVersion:kind[:namespace]:name"},
		{name: "negative replicas", kind: "Deployment", annotations: map[string]string{"werf.io/replicas-on-creation": "-1"},
			wantErr: `annotation werf.io/replicas-on-creation: invalid value "-1": want a whole number of 0 or more`},
		{name: "dependency state", kind: "Job", annotations: map[string]string{"werf.io/deploy-dependency-db": "state=done,name=db"},
			wantErr: `annotation werf.io/deploy-dependency-db: invalid value "state=done,name=db": state "done": want ready or present`},
		{name: "dependency without a target", kind: "Job", annotations: map[string]string{"werf.io/deploy-dependency-db": "state=ready"},
			wantErr: "name at least one of kind, name, namespace, group, version"},
		{name: "dependency unknown key", kind: "Job", annotations: map[string]string{"werf.io/deploy-dependency-db": "nmae=db"},
			wantErr: `unknown key "nmae"`},
		{name: "external resource without a name", kind: "Job", annotations: map[string]string{"x.external-dependency.werf.io/resource": "secret"},
			wantErr: "want KIND/NAME or RESOURCE.VERSION.GROUP/NAME"},
		{name: "external namespace without resource", kind: "Job", annotations: map[string]string{"x.external-dependency.werf.io/namespace": "other"},
			wantErr: "set x.external-dependency.werf.io/resource too"},
		{name: "external unknown field", kind: "Job", annotations: map[string]string{"x.external-dependency.werf.io/name": "other"},
			wantErr: "unknown external dependency annotation"},
		{name: "delete policy", kind: "Job", annotations: map[string]string{"werf.io/delete-policy": "sometimes"},
			wantErr: "want a comma-separated list of before-creation"},
		{name: "propagation", kind: "Deployment", annotations: map[string]string{"werf.io/delete-propagation": "foreground"},
			wantErr: "want Foreground, Background or Orphan"},
		{name: "resource policy", kind: "Deployment", annotations: map[string]string{"helm.sh/resource-policy": "retain"},
			wantErr: `annotation helm.sh/resource-policy: invalid value "retain": want keep`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLifecycle(tt.kind, tt.annotations)
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			if !tt.check(l) {
				t.Fatalf("unexpected lifecycle %+v", l)
			}
		})
	}
}
