package lifecycle

import (
	"slices"
	"strconv"
	"strings"
)

// Helm's hook delete policies.
const (
	HookDeleteBeforeCreation = "before-hook-creation"
	HookDeleteSucceeded      = "hook-succeeded"
	HookDeleteFailed         = "hook-failed"
)

// Hook is when a hook runs and how it is cleaned up, as Helm runs it once werf's annotations
// are applied to it (what the stored revision holds).
type Hook struct {
	// Events are its helm.sh/hook events (pre-install, post-upgrade, test...), as written.
	Events []string
	// Weight is its werf.io/weight, else its helm.sh/hook-weight (werf-deploy-features:
	// werf.io/weight also on hooks, preferred over helm.sh/hook-weight).
	Weight int
	// DeletePolicies are Helm's delete policies: werf.io/delete-policy's (succeeded:
	// hook-succeeded, failed: hook-failed, and always before-hook-creation) first, then
	// helm.sh/hook-delete-policy's; Helm's default before-hook-creation when neither is set.
	DeletePolicies []string
}

// RunsIn says whether the hook runs in operation ("install", "upgrade", "rollback",
// "delete"): Helm runs pre-<operation> and post-<operation> hooks; test hooks only run with
// helm test.
func (h *Hook) RunsIn(operation string) bool {
	return h != nil && (slices.Contains(h.Events, "pre-"+operation) || slices.Contains(h.Events, "post-"+operation))
}

// parseHook reads the hook annotations; nil when the object is no hook. werfPolicies are
// werf.io/delete-policy's, already parsed.
func parseHook(annotations map[string]string, werfPolicies []DeletePolicy, werfPolicySet bool) *Hook {
	events, ok := annotations[AnnotationHook]
	if !ok || strings.TrimSpace(events) == "" {
		return nil
	}
	h := &Hook{}
	for _, e := range strings.Split(events, ",") {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			h.Events = append(h.Events, e)
		}
	}
	// Helm reads an invalid helm.sh/hook-weight as 0.
	if w, err := strconv.Atoi(strings.TrimSpace(annotations[AnnotationHookWeight])); err == nil {
		h.Weight = w
	}
	if w, err := strconv.Atoi(strings.TrimSpace(annotations[AnnotationWeight])); err == nil {
		h.Weight = w
	}
	if werfPolicySet {
		// A hook is always deleted before it is created again, as Helm does by default.
		h.DeletePolicies = []string{HookDeleteBeforeCreation}
		for _, p := range werfPolicies {
			switch p {
			case DeletePolicySucceeded:
				h.DeletePolicies = append(h.DeletePolicies, HookDeleteSucceeded)
			case DeletePolicyFailed:
				h.DeletePolicies = append(h.DeletePolicies, HookDeleteFailed)
			}
		}
	}
	for _, p := range strings.Split(annotations[AnnotationHookDeletePolicy], ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" && !slices.Contains(h.DeletePolicies, p) {
			h.DeletePolicies = append(h.DeletePolicies, p)
		}
	}
	if len(h.DeletePolicies) == 0 {
		h.DeletePolicies = []string{HookDeleteBeforeCreation}
	}
	return h
}
