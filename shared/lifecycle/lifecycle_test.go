package lifecycle

import (
	"slices"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func TestParse(t *testing.T) {
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
		{name: "hook, werf's delete policy as the stored revision has it", kind: "Job", annotations: map[string]string{"helm.sh/hook": "pre-install, Post-Upgrade", "werf.io/delete-policy": "succeeded"},
			check: func(l Lifecycle) bool {
				return slices.Equal(l.Hook.Events, []string{"pre-install", "post-upgrade"}) && slices.Equal(l.Hook.DeletePolicies, []string{"before-hook-creation", "hook-succeeded"}) &&
					l.Hook.RunsIn("install") && l.Hook.RunsIn("upgrade") && !l.Hook.RunsIn("rollback") && l.DeleteOnSucceeded
			}},
		{name: "hook, werf's and helm's delete policies", kind: "Job", annotations: map[string]string{"helm.sh/hook": "post-install", "werf.io/delete-policy": "failed", "helm.sh/hook-delete-policy": "hook-succeeded"},
			check: func(l Lifecycle) bool {
				return slices.Equal(l.Hook.DeletePolicies, []string{"before-hook-creation", "hook-failed", "hook-succeeded"})
			}},
		{name: "hook, helm's delete policy only", kind: "Job", annotations: map[string]string{"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "hook-succeeded"},
			check: func(l Lifecycle) bool { return slices.Equal(l.Hook.DeletePolicies, []string{"hook-succeeded"}) }},
		{name: "hook, Helm's default delete policy", kind: "Job", annotations: map[string]string{"helm.sh/hook": "test"},
			check: func(l Lifecycle) bool {
				return slices.Equal(l.Hook.DeletePolicies, []string{"before-hook-creation"}) && !l.Hook.RunsIn("install")
			}},
		{name: "hook weight, werf's wins", kind: "Job", annotations: map[string]string{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "3", "werf.io/weight": "-2"},
			check: func(l Lifecycle) bool { return l.Hook.Weight == -2 }},
		{name: "hook weight, helm's, invalid read as 0 as Helm does", kind: "Job", annotations: map[string]string{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "x"},
			check: func(l Lifecycle) bool { return l.Hook.Weight == 0 }},
		{name: "not a hook", kind: "Job", check: func(l Lifecycle) bool {
			return l.Hook == nil && l.Ownership == OwnershipRelease && slices.Equal(l.DeployOn, DefaultDeployOn)
		}},
		{name: "ownership anyone", kind: "ConfigMap", annotations: map[string]string{"werf.io/ownership": "anyone"}, check: func(l Lifecycle) bool { return l.Ownership == OwnershipAnyone }},
		{name: "ownership", kind: "ConfigMap", annotations: map[string]string{"werf.io/ownership": "everyone"},
			wantErr: `annotation werf.io/ownership: invalid value "everyone": want release or anyone`},
		{name: "deploy-on", kind: "ConfigMap", annotations: map[string]string{"werf.io/deploy-on": "install, rollback"},
			check: func(l Lifecycle) bool { return slices.Equal(l.DeployOn, []Stage{StageInstall, StageRollback}) }},
		{name: "deploy-on a hook stage", kind: "ConfigMap", annotations: map[string]string{"werf.io/deploy-on": "pre-install"},
			wantErr: `annotation werf.io/deploy-on: stage "pre-install": objects deployed before or after the main stage are Helm hooks with converge: annotate helm.sh/hook: pre-install instead`},
		{name: "deploy-on rollback only", kind: "ConfigMap", annotations: map[string]string{"werf.io/deploy-on": "rollback"},
			wantErr: `a rollback deploys the objects the revision it returns to stored`},
		{name: "resource policy", kind: "Deployment", annotations: map[string]string{"helm.sh/resource-policy": "retain"},
			wantErr: `annotation helm.sh/resource-policy: invalid value "retain": want keep`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.kind, tt.annotations)
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			if !tt.check(l) {
				t.Fatalf("unexpected lifecycle %+v", l)
			}
		})
	}
}
