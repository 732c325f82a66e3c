package inputs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kubectl-converge/converge/shared/annotate"
	"github.com/kubectl-converge/converge/shared/bundle"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/version"
	"sigs.k8s.io/yaml"
)

// PrepareBundle turns the chart of in into a bundle published as tag: the chart's values,
// the values of -f and --set* and the image refs merged into values.yaml; the chart's and
// --secret-values' secrets merged and encrypted again into secret-values.yaml; the global
// annotations and labels in extra_annotations.json and extra_labels.json; the version from
// tag (bundle.Version).
func PrepareBundle(in Inputs, tag string, now time.Time) (*charts.Chart, error) {
	return withLoaded(in, func(l *loadedChart) (*charts.Chart, error) { return bundleLoaded(l, tag, now) })
}

func bundleLoaded(l *loadedChart, tag string, now time.Time) (*charts.Chart, error) {
	in, ch := l.in, l.chart
	user, err := charts.MergeValues(in.Values)
	if err != nil {
		return nil, err
	}
	values := charts.MergeMaps(ch.Values(), user)
	if in.getsServiceValues(ch) {
		// Baked into values.yaml as werf bakes them, so that werf, helm install and templates
		// reading .Values.werf see them; recorded apart so that bundle-apply checks the
		// schema without them.
		service, _, err := in.fitToChart(ch, user, in.publishedServiceValues())
		if err != nil {
			return nil, err
		}
		values = charts.MergeMaps(values, service)
		data, err := json.MarshalIndent(service, "", "  ")
		if err != nil {
			return nil, err
		}
		ch.SetFile(bundle.ServiceValuesFile, data)
	}
	if err := ch.SetValues(values); err != nil {
		return nil, err
	}
	if err := bakeSecretValues(in, ch); err != nil {
		return nil, err
	}
	if len(ch.FilesUnder(SecretFilesDir)) > 0 {
		// The files stay encrypted; bundle-apply decrypts them. Plain helm can still parse
		// and render the chart, and says why when a template needs one.
		ch.StubSecretFiles("the files under secret/ of this bundle are encrypted: deploy it with helm giterm bundle-apply")
	}
	for name, m := range map[string]map[string]string{bundle.ExtraAnnotationsFile: in.Metadata.Annotations, bundle.ExtraLabelsFile: in.Metadata.Labels} {
		if m == nil {
			m = map[string]string{}
		}
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, err
		}
		ch.SetFile(name, data)
	}
	ch.SetVersion(bundle.Version(tag, now))
	return ch, nil
}

// publishedServiceValues are the service values a bundle is published with, those of werf 1.2's
// bundle publish (helpers.GetServiceValues: the project, the version, --repo, the images, the
// commit read from and --env): no namespace, which bundle-apply gives.
func (in Inputs) publishedServiceValues() map[string]any {
	s := inject.ServiceValues{Env: in.Env, Images: in.Images, Repo: in.Repo, Commit: in.Commit, Version: version.Get().Version}
	if in.Project != nil {
		s.Project = in.Project.Project
	}
	values := s.Values()
	werf, _ := values["werf"].(map[string]any)
	global, _ := values["global"].(map[string]any)
	globalWerf, _ := global["werf"].(map[string]any)
	delete(werf, "namespace")
	delete(globalWerf, "namespace")
	return values
}

// bakedServiceValues are the service values recorded in a bundle published with them (see
// bundle.ServiceValuesFile); nil for other bundles and charts.
func bakedServiceValues(ch *charts.Chart) (map[string]any, error) {
	data, ok := ch.File(bundle.ServiceValuesFile)
	if !ok {
		return nil, nil
	}
	var baked map[string]any
	if err := json.Unmarshal(data, &baked); err != nil {
		return nil, fmt.Errorf("bundle file %s: %w", bundle.ServiceValuesFile, err)
	}
	return baked, nil
}

// bakeSecretValues merges the chart's secret-values.yaml and the --secret-values files, and
// stores them encrypted again with the same key as the bundle's secret-values.yaml.
func bakeSecretValues(in Inputs, ch *charts.Chart) error {
	layers, cipher, err := decryptValueFiles(in, ch)
	if err != nil || len(layers) == 0 {
		return err
	}
	merged := map[string]any{}
	for _, l := range layers {
		merged = charts.MergeMaps(merged, l)
	}
	plain, err := yaml.Marshal(merged)
	if err != nil {
		return err
	}
	encrypted, err := cipher.EncryptValues(plain, nil)
	if err != nil {
		return fmt.Errorf("encrypt the bundle's %s: %w", DefaultSecretValuesFile, err)
	}
	ch.SetFile(DefaultSecretValuesFile, encrypted)
	return nil
}

// bundleMetadata merges a bundle's stored annotations and labels under md's.
func bundleMetadata(ch *charts.Chart, md annotate.Set) (annotate.Set, error) {
	for _, f := range []struct {
		name string
		into *map[string]string
	}{{bundle.ExtraAnnotationsFile, &md.Annotations}, {bundle.ExtraLabelsFile, &md.Labels}} {
		data, ok := ch.File(f.name)
		if !ok {
			continue
		}
		stored := map[string]string{}
		if err := json.Unmarshal(data, &stored); err != nil {
			return md, fmt.Errorf("bundle file %s: %w", f.name, err)
		}
		for k, v := range *f.into {
			stored[k] = v
		}
		*f.into = stored
	}
	return md, nil
}
