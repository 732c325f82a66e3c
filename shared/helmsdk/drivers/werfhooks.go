package drivers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"
)

// werfHooksDriver gives hooks werf's annotations, as nelm reads them on hooks:
// werf.io/weight orders a hook among the hooks of its event and wins over
// helm.sh/hook-weight (werf-deploy-features: "werf.io/weight also on hooks (preferred over
// helm.sh/hook-weight)"); werf.io/delete-policy adds Helm's delete policies (succeeded:
// hook-succeeded, failed: hook-failed, before-creation: before-hook-creation), and the hook
// is always deleted before it is created again, as Helm does by default. Helm 3 parses hook
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
		if !strings.Contains(h.Manifest, "werf.io/") {
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
		ann := head.Metadata.Annotations
		if value, ok := ann["werf.io/weight"]; ok {
			weight, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return fmt.Errorf("hook %s %q (%s): annotation werf.io/weight: invalid value %q: want a whole number such as -10 or 5", h.Kind, h.Name, h.Path, value)
			}
			h.Weight = weight
		}
		if value, ok := ann["werf.io/delete-policy"]; ok {
			policies := []release.HookDeletePolicy{release.HookBeforeHookCreation}
			for _, p := range strings.Split(value, ",") {
				switch strings.TrimSpace(p) {
				case "succeeded":
					policies = append(policies, release.HookSucceeded)
				case "failed":
					policies = append(policies, release.HookFailed)
				case "before-creation", "before-creation-if-immutable":
				default:
					return fmt.Errorf("hook %s %q (%s): annotation werf.io/delete-policy: invalid value %q: want a comma-separated list of before-creation, before-creation-if-immutable, succeeded, failed", h.Kind, h.Name, h.Path, value)
				}
			}
			for _, p := range h.DeletePolicies {
				if !slices.Contains(policies, p) {
					policies = append(policies, p)
				}
			}
			h.DeletePolicies = policies
		}
	}
	return nil
}
