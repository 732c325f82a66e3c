package readiness

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func widget(status map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w", "generation": int64(1)}, "status": status}}
}

// TestKubedogWordsInEveryField: every word kubedog's generic tracker knows, in every status
// field it reads, judges as kubedog judges it (resource_state_json_paths.go).
func TestKubedogWordsInEveryField(t *testing.T) {
	lists := []struct {
		words []string
		state State
	}{
		{kubedogReadyWords, StateReady},
		{kubedogPendingWords, StateProgressing},
		{kubedogFailedWords, StateFailed},
	}
	for _, field := range kubedogStatusFields {
		for _, l := range lists {
			for _, w := range l.words {
				t.Run(field+"="+w, func(t *testing.T) {
					if got := Custom(widget(map[string]any{field: w})); got.State != l.state {
						t.Fatalf("status.%s %q: %+v, want %s", field, w, got, l.state)
					}
				})
			}
		}
	}
}

func TestKubedogStatusRules(t *testing.T) {
	cond := func(typ, status string) map[string]any {
		return map[string]any{"type": typ, "status": status, "message": "m"}
	}
	conds := func(c ...map[string]any) map[string]any {
		list := make([]any, 0, len(c))
		for _, x := range c {
			list = append(list, x)
		}
		return map[string]any{"conditions": list}
	}
	tests := []struct {
		name   string
		status map[string]any
		state  State
	}{
		// Case styles kubedog matches (casify).
		{"title case", map[string]any{"phase": "Initialized"}, StateReady},
		{"upper case", map[string]any{"phase": "OK"}, StateReady},
		{"done", map[string]any{"state": "Done"}, StateReady},
		{"finished", map[string]any{"currentPhase": "Finished"}, StateReady},
		{"success", map[string]any{"status": "Success"}, StateReady},
		{"camel case pending", map[string]any{"phase": "InProgress"}, StateProgressing},
		{"kebab case pending", map[string]any{"phase": "in-progress"}, StateProgressing},
		{"screaming snake pending", map[string]any{"phase": "IN_PROGRESS"}, StateProgressing},
		{"spaced pending", map[string]any{"phase": "In Progress"}, StateProgressing},
		{"terminated fails", map[string]any{"phase": "Terminated"}, StateFailed},
		{"rejected fails", map[string]any{"currentStatus": "Rejected"}, StateFailed},
		// A word kubedog does not know is read past, to the next field, then to presence.
		{"unknown word read past", map[string]any{"phase": "Provisioning", "state": "Pending"}, StateProgressing},
		{"unknown word alone", map[string]any{"phase": "Provisioning"}, StateReadyWithWarnings},
		{"fields in kubedog's order", map[string]any{"health": "Healthy", "phase": "Pending"}, StateProgressing},
		{"a non-string status", map[string]any{"status": map[string]any{"x": "y"}}, StateReadyWithWarnings},
		// Low priority words, read after every other.
		{"state valid", map[string]any{"state": "Valid"}, StateReady},
		{"state invalid", map[string]any{"state": "Invalid"}, StateProgressing},
		{"health green", map[string]any{"health": "green"}, StateReady},
		{"health red", map[string]any{"currentHealth": "Red"}, StateProgressing},
		{"health yellow", map[string]any{"health": "YELLOW"}, StateProgressing},
		// Our own words beyond kubedog's.
		{"bound", map[string]any{"phase": "Bound"}, StateReady},
		{"degraded", map[string]any{"phase": "Degraded"}, StateFailed},
		// Conditions: kubedog's lower-case types, and the standard ones in any case.
		{"lower-case complete true", conds(cond("complete", "True")), StateReady},
		{"lower-case initialized false", conds(cond("initialized", "False")), StateProgressing},
		{"lower-case done unknown", conds(cond("done", "Unknown")), StateProgressing},
		{"kubedog's type order, not the list's", conds(cond("running", "False"), cond("done", "True")), StateReady},
		{"an earlier type wins", conds(cond("done", "True"), cond("complete", "False")), StateProgressing},
		{"Ready false waits", conds(cond("Ready", "False")), StateProgressing},
		{"title-case Initialized is not kubedog's", conds(cond("Initialized", "False")), StateReadyWithWarnings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Custom(widget(tt.status)); got.State != tt.state {
				t.Fatalf("Custom = %+v, want %s", got, tt.state)
			}
		})
	}
}

// TestKubedogKindRules: kubedog's rules per kind (contrib_resource_status_rules.yaml).
func TestKubedogKindRules(t *testing.T) {
	obj := func(apiVersion, kind string, status map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "x"}, "status": status}}
	}
	cond := func(typ, status string) map[string]any {
		return map[string]any{"conditions": []any{map[string]any{"type": typ, "status": status, "message": "m"}}}
	}
	tests := []struct {
		u     *unstructured.Unstructured
		state State
	}{
		{obj("acid.zalan.do/v1", "postgresql", map[string]any{"PostgresClusterStatus": "Running"}), StateReady},
		{obj("acid.zalan.do/v1", "postgresql", map[string]any{"PostgresClusterStatus": "Creating"}), StateProgressing},
		{obj("acid.zalan.do/v1", "postgresql", map[string]any{"PostgresClusterStatus": "CreateFailed"}), StateFailed},
		{obj("external-secrets.io/v1beta1", "ExternalSecret", cond("Ready", "True")), StateReady},
		{obj("external-secrets.io/v1beta1", "ExternalSecret", cond("Ready", "False")), StateFailed},
		{obj("external-secrets.io/v1beta1", "ExternalSecret", cond("Ready", "Unknown")), StateProgressing},
		{obj("external-secrets.io/v1beta1", "ExternalSecret", map[string]any{}), StateProgressing},
		{obj("kyverno.io/v1", "ClusterPolicy", cond("Ready", "False")), StateProgressing},
		{obj("kyverno.io/v1", "Policy", cond("Ready", "True")), StateReady},
		{obj("argoproj.io/v1alpha1", "Application", map[string]any{"health": map[string]any{"status": "Healthy"}}), StateReady},
		{obj("argoproj.io/v1alpha1", "Application", map[string]any{"health": map[string]any{"status": "Degraded"}}), StateFailed},
		{obj("argoproj.io/v1alpha1", "Application", map[string]any{"health": map[string]any{"status": "Progressing"}}), StateProgressing},
		{obj("argoproj.io/v1alpha1", "ApplicationSet", cond("ResourcesUpToDate", "True")), StateReady},
		{obj("cert-manager.io/v1", "Certificate", cond("Ready", "False")), StateProgressing},
		{obj("helm.toolkit.fluxcd.io/v2", "HelmRelease", cond("Ready", "True")), StateReady},
		{obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", cond("Ready", "False")), StateProgressing},
		{obj("monitoring.coreos.com/v1", "Prometheus", cond("Available", "True")), StateReady},
		{obj("monitoring.coreos.com/v1", "Alertmanager", cond("Available", "False")), StateProgressing},
		{obj("monitoring.coreos.com/v1", "ThanosRuler", cond("Available", "True")), StateReady},
		{obj("longhorn.io/v1beta2", "Volume", map[string]any{"state": "detached"}), StateReady},
		{obj("longhorn.io/v1beta2", "Volume", map[string]any{"state": "attaching"}), StateProgressing},
		{obj("longhorn.io/v1beta2", "Backup", map[string]any{"state": "Completed"}), StateReady},
		{obj("longhorn.io/v1beta2", "Backup", map[string]any{"state": "Error"}), StateFailed},
		{obj("longhorn.io/v1beta2", "Backup", map[string]any{"state": "InProgress"}), StateProgressing},
	}
	for _, tt := range tests {
		status, _, _ := unstructured.NestedMap(tt.u.Object, "status")
		t.Run(fmt.Sprintf("%s %v", tt.u.GetKind(), status), func(t *testing.T) {
			if got := Custom(tt.u); got.State != tt.state {
				t.Fatalf("Custom = %+v, want %s", got, tt.state)
			}
		})
	}
}
