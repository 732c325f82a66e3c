package readiness

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The words and fields kubedog's generic tracker judges custom resources by, as werf and nelm
// track them (kubedog pkg/tracker/generic/resource_state_json_paths.go, ready_condition.go,
// contrib_resource_status_rules.yaml; werf/kubedog main at ed58edf). kubedog compares a value
// with every case style of its words (casify: lower, upper, camel, kebab, snake, dotted,
// title), which word() folds into one form.
var (
	kubedogReadyWords = []string{"ready", "success", "succeeded", "complete", "completed", "finished", "finalized", "done",
		"available", "running", "ok", "active", "live", "healthy", "started", "initialized", "approved"}
	kubedogPendingWords = []string{"creating", "updating", "waiting", "awaiting", "pending", "finishing", "starting", "readying",
		"in progress", "progressing", "initialization", "initializing", "approving", "unknown"}
	kubedogFailedWords = []string{"failure", "failed", "abort", "aborted", "terminated", "error", "errored", "rejection", "rejected"}

	// kubedogStatusFields are the status fields kubedog reads, in its order; the first whose
	// value is one of its words decides.
	kubedogStatusFields = []string{"phase", "currentPhase", "state", "currentState", "status", "currentStatus", "health", "currentHealth"}

	// kubedogLowPriority are read last: state valid, health green.
	kubedogLowPriority = []struct {
		field          string
		ready, pending []string
	}{
		{"state", []string{"valid"}, []string{"invalid", "unknown"}},
		{"currentState", []string{"valid"}, []string{"invalid", "unknown"}},
		{"health", []string{"green"}, []string{"yellow", "red", "unknown"}},
		{"currentHealth", []string{"green"}, []string{"yellow", "red", "unknown"}},
	}

	// ourReadyWords and ourFailedWords go beyond kubedog's (README "Switching from werf"):
	// bound, established and deployed say ready where kubedog reads on (and takes a resource
	// whose fields it does not know as ready); degraded fails, where kubedog reads on.
	ourReadyWords  = []string{"bound", "established", "deployed"}
	ourFailedWords = []string{"degraded"}
)

// word folds the case styles kubedog matches into one form: "In Progress", "in-progress",
// "IN_PROGRESS" and "inProgress" are all "inprogress".
func word(v string) string {
	return strings.NewReplacer(" ", "", "-", "", "_", "", ".", "").Replace(strings.ToLower(v))
}

func isWord(v string, words ...[]string) bool {
	w := word(v)
	for _, list := range words {
		for _, x := range list {
			if word(x) == w {
				return true
			}
		}
	}
	return false
}

// kubedogConditions judges the conditions whose type is one of kubedog's ready words spelled
// exactly so, in lower case ("ready", "complete"...): kubedog builds these condition types
// from its words as they are (nelm matches other cases only with
// NELM_FEAT_CASE_INSENSITIVE_CONDITION_TRACKING). True is ready, False and Unknown pending;
// nil when none is there.
func kubedogConditions(u *unstructured.Unstructured) *Status {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, w := range kubedogReadyWords {
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if t, _ := m["type"].(string); t != w {
				continue
			}
			s, _ := m["status"].(string)
			switch {
			case isWord(s, []string{"true"}):
				return &Status{State: StateReady, Detail: w}
			case isWord(s, []string{"false", "unknown"}):
				msg, _ := m["message"].(string)
				return ptr(Progressing("%s=%s: %s", w, s, msg))
			}
		}
	}
	return nil
}

// kubedogFields judges the status fields kubedog reads (status.phase, state, health...): the
// first holding one of its words decides; a value that is none of them is read past, as
// kubedog does. unknown names the first such value, for the caller's message.
func kubedogFields(status map[string]any) (s *Status, unknown string) {
	for _, field := range kubedogStatusFields {
		v, ok := status[field].(string)
		if !ok || v == "" {
			continue
		}
		switch {
		case isWord(v, kubedogReadyWords, ourReadyWords):
			return &Status{State: StateReady, Detail: field + " " + v}, ""
		case isWord(v, kubedogFailedWords, ourFailedWords):
			msg, _ := status["message"].(string)
			return ptr(Failed(&Failure{Reason: v, Message: msg})), ""
		case isWord(v, kubedogPendingWords):
			return ptr(Progressing("%s %s", field, v)), ""
		}
		if unknown == "" {
			unknown = "status." + field + " " + v
		}
	}
	for _, lp := range kubedogLowPriority {
		v, ok := status[lp.field].(string)
		switch {
		case !ok:
		case isWord(v, lp.ready):
			return &Status{State: StateReady, Detail: lp.field + " " + v}, ""
		case isWord(v, lp.pending):
			return ptr(Progressing("%s %s", lp.field, v)), ""
		}
	}
	return nil, unknown
}

// kubedogRule is one of kubedog's rules for a kind (contrib_resource_status_rules.yaml): the
// value of one field (or of one condition's status) against its own words. A value that is
// neither ready nor failed, a missing field included, is pending.
type kubedogRule struct {
	// condition is the condition type whose status is read; "" reads path.
	condition string
	path      []string
	ready     []string
	failed    []string
}

func readyCondition(t string) kubedogRule {
	return kubedogRule{condition: t, ready: []string{"True"}}
}

// kubedogRules are keyed by GroupKind ("Kind.group"), as kubedog matches them (exactly).
var kubedogRules = map[string]kubedogRule{
	"postgresql.acid.zalan.do": {path: []string{"status", "PostgresClusterStatus"}, ready: []string{"Running"},
		failed: []string{"CreateFailed", "UpdateFailed", "DeleteFailed"}},
	"ExternalSecret.external-secrets.io":        {condition: "Ready", ready: []string{"True"}, failed: []string{"False"}},
	"SealedSecret.bitnami.com":                  readyCondition("Synced"),
	"Policy.kyverno.io":                         readyCondition("Ready"),
	"ClusterPolicy.kyverno.io":                  readyCondition("Ready"),
	"Application.argoproj.io":                   {path: []string{"status", "health", "status"}, ready: []string{"Healthy"}, failed: []string{"Degraded"}},
	"ApplicationSet.argoproj.io":                readyCondition("ResourcesUpToDate"),
	"Certificate.cert-manager.io":               readyCondition("Ready"),
	"HelmRelease.helm.toolkit.fluxcd.io":        readyCondition("Ready"),
	"Kustomization.kustomize.toolkit.fluxcd.io": readyCondition("Ready"),
	"Prometheus.monitoring.coreos.com":          readyCondition("Available"),
	"Alertmanager.monitoring.coreos.com":        readyCondition("Available"),
	"ThanosRuler.monitoring.coreos.com":         readyCondition("Available"),
	"Volume.longhorn.io":                        {path: []string{"status", "state"}, ready: []string{"attached", "detached"}},
	"Backup.longhorn.io":                        {path: []string{"status", "state"}, ready: []string{"Completed"}, failed: []string{"Error"}},
}

func (r kubedogRule) judge(u *unstructured.Unstructured) Status {
	var value, where, msg string
	if r.condition != "" {
		where = "condition " + r.condition
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if t, _ := m["type"].(string); t == r.condition {
				value, _ = m["status"].(string)
				msg, _ = m["message"].(string)
				break
			}
		}
	} else {
		where = strings.Join(r.path, ".")
		value, _, _ = unstructured.NestedString(u.Object, r.path...)
		msg, _, _ = unstructured.NestedString(u.Object, "status", "message")
	}
	switch {
	case value != "" && isWord(value, r.ready):
		return Status{State: StateReady, Detail: where + " " + value}
	case value != "" && isWord(value, r.failed):
		if msg != "" {
			msg = ": " + msg
		}
		return Failed(&Failure{Reason: value, Message: where + " " + value + msg})
	case value == "":
		return Progressing("waiting for %s", where)
	}
	return Progressing("%s %s: %s", where, value, msg)
}

func ptr(s Status) *Status { return &s }
