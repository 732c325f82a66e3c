package lifecycle

import (
	"fmt"
	"strings"
)

// werfAnnotation is one annotation name of werf's and nelm's deploy engines (nelm
// pkg/common/common.go lists them all): exact, or a prefix followed by an id or a container.
type werfAnnotation struct {
	name   string
	prefix bool
}

var werfAnnotations = []werfAnnotation{
	{name: AnnotationWeight},
	{name: AnnotationDeployDependencyPrefix, prefix: true},
	{name: AnnotationReplicasOnCreation},
	{name: AnnotationDeletePolicy},
	{name: AnnotationDeletePropagation},
	{name: AnnotationWerfResourcePolicy},
	{name: AnnotationWerfVersion},
	{name: AnnotationReleaseChannel},
	{name: AnnotationTrackTerminationMode},
	{name: AnnotationFailMode},
	{name: AnnotationFailuresAllowed},
	{name: AnnotationNoActivityTimeout},
	{name: AnnotationIgnoreProbeFailsPrefix, prefix: true},
	{name: AnnotationLogRegex},
	{name: AnnotationLogRegexForPrefix, prefix: true},
	{name: AnnotationLogRegexSkip},
	{name: AnnotationLogRegexSkipForPrefix, prefix: true},
	{name: AnnotationSkipLogs},
	{name: AnnotationSkipLogsForContainers},
	{name: AnnotationShowLogsOnlyFor},
	{name: AnnotationShowLogsForReplicas},
	{name: AnnotationShowServiceMessages},
	{name: AnnotationSensitive},
	{name: AnnotationSensitivePaths},
	{name: AnnotationDeployOn},
	{name: AnnotationOwnership},
	{name: AnnotationDeleteDependencyPrefix, prefix: true},
}

// werfMetadataDomains hold annotations werf and its CI integration write for people and
// tools, not for the deploy: any name in them is accepted.
var werfMetadataDomains = []string{"project.werf.io", "ci.werf.io", "gitlab.ci.werf.io", "github.ci.werf.io"}

// CheckWerfAnnotations refuses an annotation in werf.io/ or a *.werf.io domain that werf's
// engines do not define (a typo would otherwise silently do nothing), naming it.
func CheckWerfAnnotations(annotations map[string]string) error {
	for key := range annotations {
		domain, name, ok := strings.Cut(key, "/")
		if !ok {
			domain, name = key, ""
		}
		if domain != "werf.io" && !strings.HasSuffix(domain, ".werf.io") {
			continue
		}
		if err := checkWerfAnnotation(key, domain, name); err != nil {
			return err
		}
	}
	return nil
}

func checkWerfAnnotation(key, domain, name string) error {
	for _, d := range werfMetadataDomains {
		if domain == d {
			return nil
		}
	}
	switch {
	case strings.HasSuffix(domain, AnnotationExternalDependencyDomain):
		return nil // parsed, with its own errors, by Parse
	case strings.HasSuffix(domain, AnnotationDependencyDomain) && name == "":
		return nil // parsed by Parse
	case domain != "werf.io":
		return fmt.Errorf("annotation %s: werf defines no annotation in %s: check the spelling (werf's deploy annotations are werf.io/...)", key, domain)
	}
	for _, a := range werfAnnotations {
		if (!a.prefix && key == a.name) || (a.prefix && strings.HasPrefix(key, a.name) && len(key) > len(a.name)) {
			return nil
		}
	}
	return fmt.Errorf("annotation %s: werf defines no such annotation: check the spelling against werf's deploy annotations (werf.io/weight, werf.io/fail-mode, werf.io/track-termination-mode, ...)", key)
}
