package lifecycle

import (
	"strings"
	"testing"
)

// FuzzAnnotationParsers feeds arbitrary annotation values to the deploy and tracking
// annotation parsers: an error names the annotation, nothing panics.
func FuzzAnnotationParsers(f *testing.F) {
	keys := []string{
		AnnotationWeight, AnnotationDeployDependencyPrefix + "db", "db.external-dependency.werf.io/resource",
		"db.external-dependency.werf.io/namespace", AnnotationReplicasOnCreation, AnnotationDeletePolicy,
		AnnotationDeletePropagation, AnnotationHelmResourcePolicy, AnnotationOwnership, AnnotationDeployOn, AnnotationHook,
		AnnotationHookWeight, AnnotationHookDeletePolicy,
	}
	for _, seed := range []string{"10", "-5", "state=ready,kind=Deployment,name=db", "secret/x", "deployments.v1.apps/app", "3", "before-creation", "Foreground", "keep", "4m", "(", "=", ",,", "state=", "x/y/z", "99999999999999999999"} {
		f.Add(0, seed)
	}
	f.Fuzz(func(t *testing.T, which int, value string) {
		if which < 0 {
			which = -which
		}
		key := keys[which%len(keys)]
		ann := map[string]string{key: value}
		if _, err := Parse("Deployment", ann); err != nil && !strings.Contains(err.Error(), "annotation") {
			t.Fatalf("%s=%q: error does not name the annotation: %v", key, value, err)
		}
	})
}
