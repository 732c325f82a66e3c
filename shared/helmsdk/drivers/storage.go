// Package drivers wraps Helm's release storage: revisions stored without decrypted secrets,
// history lists read once per command, werf's hook annotations set as a revision is stored.
package drivers

import (
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// secretFreeDriver is the release storage with secrets kept out: every revision written
// stores the non-secret values instead of the ones templates rendered with, and a chart whose
// generated werf_secret_file template held decrypted files stores a stub instead. What the
// templates rendered from secrets lives only in the rendered manifest, as in Helm and nelm,
// and rollbacks deploy that manifest without rendering again.
type secretFreeDriver struct {
	driver.Driver
	values map[string]any
}

var _ driver.Driver = (*secretFreeDriver)(nil)

// SecretFree is d storing values instead of the values a revision rendered with.
func SecretFree(d driver.Driver, values map[string]any) driver.Driver {
	return &secretFreeDriver{Driver: d, values: values}
}

func (d *secretFreeDriver) Create(key string, rls *release.Release) error {
	return d.Driver.Create(key, d.secretFree(rls))
}

func (d *secretFreeDriver) Update(key string, rls *release.Release) error {
	return d.Driver.Update(key, d.secretFree(rls))
}

func (d *secretFreeDriver) secretFree(rls *release.Release) *release.Release {
	if rls == nil {
		return nil
	}
	stored := *rls
	stored.Config = d.values
	stored.Chart = withoutSecretFiles(rls.Chart)
	return &stored
}

// storedSecretStub replaces the generated template of decrypted secret files in stored charts.
const storedSecretStub = `{{- define "` + charts.SecretFileHelper + `" -}}{{- fail (printf "werf_secret_file %q: secret files are not stored in the release; deploy the chart again to render them" .) -}}{{- end -}}` + "\n"

// withoutSecretFiles returns the chart (a copy where it changes) with the generated secret
// file template replaced by a stub, in the chart and every subchart.
func withoutSecretFiles(c *chart.Chart) *chart.Chart {
	if c == nil {
		return nil
	}
	out := *c
	out.Templates = make([]*chart.File, len(c.Templates))
	for i, t := range c.Templates {
		out.Templates[i] = t
		if t.Name == charts.SecretFileHelperTemplate {
			out.Templates[i] = &chart.File{Name: t.Name, Data: []byte(storedSecretStub)}
		}
	}
	deps := c.Dependencies()
	if len(deps) > 0 {
		copies := make([]*chart.Chart, len(deps))
		for i, dep := range deps {
			copies[i] = withoutSecretFiles(dep)
		}
		out.SetDependencies(copies...)
	}
	return &out
}
