package drivers

import (
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/shared/lifecycle"
)

// werfHooksDriver gives hooks werf's annotations, as nelm reads them on hooks: the weight and
// delete policies of lifecycle.Hook (werf.io/weight wins over helm.sh/hook-weight,
// werf.io/delete-policy adds Helm's delete policies), the very ones a plan shows. Helm 3 parses hook
// weights and policies at render time and uses them when it runs an event, after it stored
// the new revision; storing it is the only point between the two, so they are set on the
// release Helm goes on with (its hooks are shared pointers) as it is created.
type werfHooksDriver struct {
	driver.Driver
}

var _ driver.Driver = (*werfHooksDriver)(nil)

// WerfHooks is d setting the hooks' weights and delete policies from werf's annotations.
func WerfHooks(d driver.Driver) driver.Driver { return &werfHooksDriver{Driver: d} }

func (d *werfHooksDriver) Create(key string, rls *release.Release) error {
	if rls != nil {
		if err := applyWerfHookAnnotations(rls.Hooks); err != nil {
			return err
		}
	}
	return d.Driver.Create(key, rls)
}

// applyWerfHookAnnotations sets each hook's weight and delete policies from its werf.io/
// annotations.
func applyWerfHookAnnotations(hooks []*release.Hook) error {
	for _, h := range hooks {
		if !strings.Contains(h.Manifest, lifecycle.AnnotationWerfPrefix) { // without werf's annotations Helm read the same
			continue
		}
		var head struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(h.Manifest), &head); err != nil {
			continue // Helm reports a manifest it cannot read when it creates the hook
		}
		l, err := lifecycle.Parse(h.Kind, head.Metadata.Annotations)
		if err != nil {
			return fmt.Errorf("hook %s %q (%s): %w", h.Kind, h.Name, h.Path, err)
		}
		if l.Hook == nil {
			continue
		}
		h.Weight = l.Hook.Weight
		h.DeletePolicies = h.DeletePolicies[:0]
		for _, p := range l.Hook.DeletePolicies {
			h.DeletePolicies = append(h.DeletePolicies, release.HookDeletePolicy(p))
		}
	}
	return nil
}
