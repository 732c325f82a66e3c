// Package drivers wraps Helm's release storage: revisions stored without decrypted secrets,
// the Secrets of revisions read registered with the redactor, history lists read once per
// command, werf's hook annotations set as a revision is stored.
package drivers

import (
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// secretFreeDriver is the release storage with secrets kept out, for every revision any
// action writes: a chart whose generated werf_secret_file template held decrypted files is
// stored with a stub instead, whether or not the revision had secret values. What the
// templates rendered from secrets lives only in the rendered manifest, as in Helm and nelm,
// and rollbacks deploy that manifest without rendering again.
type secretFreeDriver struct{ driver.Driver }

var _ driver.Driver = (*secretFreeDriver)(nil)

// SecretFree is d storing every revision's chart without decrypted secret files.
func SecretFree(d driver.Driver) driver.Driver { return &secretFreeDriver{Driver: d} }

func (d *secretFreeDriver) Create(key string, rls *release.Release) error {
	return d.Driver.Create(key, withoutSecretFilesIn(rls))
}

func (d *secretFreeDriver) Update(key string, rls *release.Release) error {
	return d.Driver.Update(key, withoutSecretFilesIn(rls))
}

func withoutSecretFilesIn(rls *release.Release) *release.Release {
	if rls == nil {
		return nil
	}
	stored := *rls
	stored.Chart = withoutSecretFiles(rls.Chart)
	return &stored
}

// storedValuesDriver stores values (and a chart) instead of those a revision rendered with,
// in the revisions its action creates only: an upgrade also writes the revision it
// supersedes, which stays as it was written.
type storedValuesDriver struct {
	driver.Driver
	values  map[string]any
	chart   *chart.Chart
	mu      sync.Mutex
	created map[string]bool
}

var _ driver.Driver = (*storedValuesDriver)(nil)

// StoredValues is d storing values instead of the rendered values in the revisions created
// through it (one action's), and writing every other revision as it is.
func StoredValues(d driver.Driver, values map[string]any) driver.Driver {
	return StoredAs(d, values, nil)
}

// StoredAs is StoredValues that also stores ch instead of the chart the revision rendered
// (the user's chart, where the action rendered a copy of it); nil values or ch store those
// rendered.
func StoredAs(d driver.Driver, values map[string]any, ch *chart.Chart) driver.Driver {
	return &storedValuesDriver{Driver: d, values: values, chart: ch, created: map[string]bool{}}
}

func (d *storedValuesDriver) Create(key string, rls *release.Release) error {
	d.mu.Lock()
	d.created[key] = true
	d.mu.Unlock()
	return d.Driver.Create(key, d.withValues(key, rls))
}

func (d *storedValuesDriver) Update(key string, rls *release.Release) error {
	return d.Driver.Update(key, d.withValues(key, rls))
}

func (d *storedValuesDriver) withValues(key string, rls *release.Release) *release.Release {
	d.mu.Lock()
	own := d.created[key]
	d.mu.Unlock()
	if rls == nil || !own {
		return rls
	}
	stored := *rls
	if d.values != nil {
		stored.Config = d.values
	}
	if d.chart != nil {
		stored.Chart = d.chart
	}
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
