package helmsdk

import (
	"fmt"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"sigs.k8s.io/yaml"
)

// hookWeightDriver gives hooks werf's weight: werf.io/weight on a hook orders it among the
// hooks of its event and wins over helm.sh/hook-weight, as in nelm (werf-deploy-features:
// "werf.io/weight also on hooks (preferred over helm.sh/hook-weight)"). Helm 3 parses hook
// weights at render time and sorts hooks by them when it runs an event, after it stored the
// new revision; storing it is the only point between the two, so the weights are set on
// the release Helm goes on with (its hooks are shared pointers) as it is created.
type hookWeightDriver struct {
	driver.Driver
}

var _ driver.Driver = (*hookWeightDriver)(nil)

func (d *hookWeightDriver) Create(key string, rls *release.Release) error {
	if rls != nil {
		if err := applyWerfHookWeights(rls.Hooks); err != nil {
			return err
		}
	}
	return d.Driver.Create(key, rls)
}

// applyWerfHookWeights sets each hook's weight from its werf.io/weight annotation.
func applyWerfHookWeights(hooks []*release.Hook) error {
	for _, h := range hooks {
		if !strings.Contains(h.Manifest, "werf.io/weight") {
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
		value, ok := head.Metadata.Annotations["werf.io/weight"]
		if !ok {
			continue
		}
		weight, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return fmt.Errorf("hook %s %q (%s): annotation werf.io/weight: invalid value %q: want a whole number such as -10 or 5", h.Kind, h.Name, h.Path, value)
		}
		h.Weight = weight
	}
	return nil
}
