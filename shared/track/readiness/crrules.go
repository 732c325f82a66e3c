package readiness

import (
	"strings"

	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// crRule judges a popular custom resource whose readiness the standard conventions get
// wrong; it returns nil to fall back to them.
type crRule func(u *unstructured.Unstructured) *Status

// crRules are keyed by GroupKind ("Kind.group").
var crRules = map[string]crRule{
	// Sealed Secrets report success as Synced, not Ready.
	"SealedSecret.bitnami.com": func(u *unstructured.Unstructured) *Status {
		c := findCondition(u, "Synced")
		if c == nil {
			return nil
		}
		if c["status"] == "True" {
			return &Status{State: StateReady, Detail: "synced"}
		}
		return &Status{State: StateFailed, Failure: &Failure{Reason: str(c["reason"], "NotSynced"), Message: str(c["message"], "")}}
	},
	// Argo Rollouts: a paused rollout waits for a person, not for us.
	"Rollout.argoproj.io": func(u *unstructured.Unstructured) *Status {
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		switch phase {
		case "Paused":
			return &Status{State: StateReadyWithWarnings, Detail: "paused: waiting for a promotion"}
		case "Degraded":
			msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
			return &Status{State: StateFailed, Failure: &Failure{Reason: "Degraded", Message: msg}}
		}
		return nil
	},
	// cert-manager: a failed issuance shows on the Issuing condition while Ready stays False.
	"Certificate.cert-manager.io": func(u *unstructured.Unstructured) *Status {
		if c := findCondition(u, "Issuing"); c != nil && c["status"] == "False" && c["reason"] == "Failed" {
			return &Status{State: StateFailed, Failure: &Failure{Reason: "IssuingFailed", Message: str(c["message"], "")}}
		}
		return nil
	},
}

func findCondition(u *unstructured.Unstructured, condType string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if t, _ := m["type"].(string); strings.EqualFold(t, condType) {
			return m
		}
	}
	return nil
}

func str(v any, fallback string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return fallback
}

// Custom judges a custom resource: the built-in rule of its kind first, then kubedog's rule
// of its kind (kubedogRules), then kstatus (cli-utils: standard conditions,
// observedGeneration, Stalled/Reconciling), then the conditions and fields kubedog reads.
func Custom(u *unstructured.Unstructured) Status {
	gk := u.GroupVersionKind().GroupKind().String()
	if rule, ok := crRules[gk]; ok {
		if s := rule(u); s != nil {
			return *s
		}
	}
	if rule, ok := kubedogRules[gk]; ok {
		return rule.judge(u)
	}
	res, err := kstatus.Compute(u)
	if err != nil {
		return evalGeneric(u)
	}
	switch res.Status {
	case kstatus.FailedStatus:
		f := &Failure{Reason: "Failed", Message: res.Message}
		for _, c := range res.Conditions {
			if c.Type == kstatus.ConditionStalled && c.Reason != "" {
				f.Reason = c.Reason
			}
		}
		return Failed(f)
	case kstatus.InProgressStatus:
		if generic := evalGeneric(u); generic.State == StateFailed {
			return generic
		}
		return Progressing("%s", res.Message)
	case kstatus.TerminatingStatus:
		return Progressing("terminating")
	}
	return evalGeneric(u)
}
