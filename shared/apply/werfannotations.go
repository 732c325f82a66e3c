package apply

import (
	"fmt"
	"strings"

	"github.com/kubectl-converge/converge/shared/track/readiness"
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
	{name: "werf.io/version"},
	{name: "werf.io/release-channel"},
	{name: readiness.AnnotationTrackTerminationMode},
	{name: readiness.AnnotationFailMode},
	{name: readiness.AnnotationFailuresAllowed},
	{name: readiness.AnnotationNoActivityTimeout},
	{name: readiness.AnnotationIgnoreProbeFailsPrefix, prefix: true},
	{name: readiness.AnnotationLogRegex},
	{name: readiness.AnnotationLogRegexForPrefix, prefix: true},
	{name: readiness.AnnotationLogRegexSkip},
	{name: readiness.AnnotationLogRegexSkipForPrefix, prefix: true},
	{name: readiness.AnnotationSkipLogs},
	{name: readiness.AnnotationSkipLogsForContainers},
	{name: readiness.AnnotationShowLogsOnlyFor},
	{name: readiness.AnnotationShowLogsForReplicas},
	{name: readiness.AnnotationShowServiceMessages},
	{name: "werf.io/sensitive"},
	{name: "werf.io/sensitive-paths"},
	{name: "werf.io/deploy-on"},
	{name: "werf.io/ownership"},
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
	case strings.HasSuffix(domain, annotationExternalDependencyDomain):
		return nil // parsed, with its own errors, by ParseLifecycle
	case strings.HasSuffix(domain, annotationDependencyDomain) && name == "":
		return nil // parsed by ParseLifecycle
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
