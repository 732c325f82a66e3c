package lifecycle

import (
	"fmt"
	"slices"
	"strings"
)

// Ownership is werf.io/ownership.
type Ownership string

const (
	// OwnershipRelease objects belong to the release (the default).
	OwnershipRelease Ownership = "release"
	// OwnershipAnyone objects are deployed with the release but nobody's: nothing checks their
	// owner before they are applied and nothing deletes them.
	OwnershipAnyone Ownership = "anyone"
)

// OwnedByAnyone says whether annotations carry werf.io/ownership: anyone.
func OwnedByAnyone(annotations map[string]string) bool {
	return annotations[AnnotationOwnership] == string(OwnershipAnyone)
}

// ParseOwnership reads werf.io/ownership: release when not set.
func ParseOwnership(annotations map[string]string) (Ownership, error) {
	value, ok := annotations[AnnotationOwnership]
	switch Ownership(value) {
	case OwnershipRelease, OwnershipAnyone:
		return Ownership(value), nil
	}
	if !ok {
		return OwnershipRelease, nil
	}
	return OwnershipRelease, fmt.Errorf("annotation %s: invalid value %q: want release or anyone", AnnotationOwnership, value)
}

// Owner is the release an object's ownership annotations name, "RELEASE/NAMESPACE"; "" when
// it has none.
func Owner(annotations map[string]string) string {
	if annotations[AnnotationReleaseName] == "" {
		return ""
	}
	return annotations[AnnotationReleaseName] + "/" + annotations[AnnotationReleaseNamespace]
}

// KeptBy names the annotation that keeps an object in the cluster when it leaves the chart or
// the release is uninstalled: helm.sh/resource-policy or werf.io/resource-policy "keep"; ""
// when none does.
func KeptBy(annotations map[string]string) string {
	switch {
	case annotations[AnnotationHelmResourcePolicy] == "keep":
		return AnnotationHelmResourcePolicy
	case annotations[AnnotationWerfResourcePolicy] == "keep":
		return AnnotationWerfResourcePolicy
	}
	return ""
}

// Stage is an operation an object is deployed in (werf.io/deploy-on).
type Stage string

const (
	StageInstall  Stage = "install"
	StageUpgrade  Stage = "upgrade"
	StageRollback Stage = "rollback"
)

// DefaultDeployOn are the stages of an object without werf.io/deploy-on (nelm's default).
var DefaultDeployOn = []Stage{StageInstall, StageUpgrade, StageRollback}

// ParseDeployOn reads werf.io/deploy-on: the main stages are honoured; the stages before and
// after the main one are Helm hooks here, and are refused with the hook to use rather than
// deployed at the wrong time. Not set: DefaultDeployOn.
func ParseDeployOn(annotations map[string]string) ([]Stage, error) {
	value, ok := annotations[AnnotationDeployOn]
	if !ok {
		return DefaultDeployOn, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("annotation %s: %s", AnnotationDeployOn, fmt.Sprintf(format, args...))
	}
	var stages []Stage
	for _, s := range strings.Split(value, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "install", "upgrade", "rollback":
			stages = append(stages, Stage(s))
		case "pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-rollback", "post-rollback", "pre-delete", "post-delete":
			return nil, bad("stage %q: objects deployed before or after the main stage are Helm hooks with converge: annotate %s: %s instead", s, AnnotationHook, s)
		case "delete", "test":
			return nil, bad("stage %q: use a Helm hook (%s: pre-delete, post-delete or test) instead", s, AnnotationHook)
		default:
			return nil, bad("invalid value %q: want a comma-separated list of install, upgrade, rollback", value)
		}
	}
	if !slices.Contains(stages, StageInstall) && !slices.Contains(stages, StageUpgrade) {
		return nil, bad("%q: a rollback deploys the objects the revision it returns to stored, so an object deployed on rollback only is never deployed: add install or upgrade", value)
	}
	return stages, nil
}
