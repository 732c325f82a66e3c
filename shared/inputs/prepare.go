package inputs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-converge/converge/shared/annotate"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/manifest"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/secrets"
	"github.com/kubectl-converge/converge/shared/track/readiness"
	"github.com/kubectl-converge/converge/shared/version"
	"github.com/kubectl-converge/converge/shared/werfproject"
)

const (
	// DefaultSecretValuesFile is the chart's own encrypted values file (werf's layout).
	DefaultSecretValuesFile = secrets.ValuesFile
	// SecretFilesDir holds encrypted files read by werf_secret_file in templates.
	SecretFilesDir = secrets.FilesDir
	// AnnotationVersion records the version of the tool that deployed an object.
	AnnotationVersion = "kubectl-converge.io/version"
	// AnnotationEnv records --env on every object, when given.
	AnnotationEnv = "kubectl-converge.io/env"
	// AnnotationGitCommit records the commit a chart read from git was deployed from.
	AnnotationGitCommit = "kubectl-converge.io/git-commit"
	// werf's automatic annotations.
	AnnotationWerfProjectName = "project.werf.io/name"
	AnnotationWerfProjectEnv  = "project.werf.io/env"
)

// Inputs is everything a user can ask of a render or a deploy.
type Inputs struct {
	// ChartPath is the chart directory or archive.
	ChartPath string
	// ProjectDir holds the project's .werf_secret_key.
	ProjectDir string
	// ReleaseName is --release; empty means derived from the chart name and Env.
	ReleaseName string
	// Env is --env: part of the default release name and of the werf service values.
	Env       string
	Namespace string
	Values    charts.ValueSources
	// SecretValuesFiles are extra encrypted values files (--secret-values), merged after the
	// chart's secret-values.yaml.
	SecretValuesFiles []string
	// SecretKeyFile is --secret-key-file; empty means werf's lookup.
	SecretKeyFile string
	// Getenv reads the environment (WERF_SECRET_KEY); nil means os.Getenv.
	Getenv   func(string) string
	Images   inject.Images
	Rewrites []inject.Rewrite
	Metadata annotate.Set
	// DownloadDependencies fetches repository and oci:// dependencies missing from charts/
	// and from the cache (at their Chart.lock versions) into the cache; without it they are
	// an error naming them.
	DownloadDependencies bool
	// PlainHTTP reaches oci:// dependency registries over HTTP.
	PlainHTTP bool
	// Progress receives messages such as dependency downloads; nil discards them.
	Progress io.Writer
	// Git, when set, is the commit the chart and every named file are read from
	// (giterminism); nil reads the file system.
	Git *giterm.Repo
	// Chart, when set, is the chart to deploy (a pulled bundle); ChartPath then only names it.
	Chart *charts.Chart
	// Bundle says Chart is a bundle: its extra_annotations.json and extra_labels.json join
	// Metadata, whose own entries win.
	Bundle bool
	// Origin says where the chart came from ("bundle oci://...@sha256:..."), for the
	// revision's description.
	Origin string
	// Project is the werf project (werf.yaml) the chart belongs to; nil outside one. It names
	// the release, completes the chart's metadata and fills werf.name.
	Project *werfproject.Config
	// Repo is the images repository (--repo): .Values.werf.repo.
	Repo string
	// Commit is the project's git commit, for .Values.werf.commit; nil outside git.
	Commit *inject.Commit
	// DisableDefaultValues leaves the chart's values.yaml out (werf's
	// --disable-default-values); DisableDefaultSecretValues its secret-values.yaml.
	DisableDefaultValues, DisableDefaultSecretValues bool
	// IgnoreSecretKey passes secret values and files encrypted, without a key (werf's
	// --ignore-secret-key): a render for review without the secrets.
	IgnoreSecretKey bool
	// NoValuesSchemaValidation skips the check of the values against the charts'
	// values.schema.json (werf's --no-values-schema-validation).
	NoValuesSchemaValidation bool
	// DockerConfigJSON is werf's --set-docker-config-json-value: the base64 of the docker
	// config.json, as .Values.dockerconfigjson and .Values.global.werf.dockerconfigjson; ""
	// when not asked or when there is no config.json.
	DockerConfigJSON string
}

// chartDefaults completes the project's own chart as werf does: version 1.0.0 when
// Chart.yaml has none, and in a werf project the project's name and appVersion.
func (in Inputs) chartDefaults() charts.MetadataDefaults {
	d := charts.MetadataDefaults{Version: charts.DefaultChartVersion}
	if in.Project != nil {
		d.Name, d.AppVersion = in.Project.Project, in.Project.AppVersion
	}
	return d
}

// loadChartDir reads one chart directory of the chart tree at in.ChartPath, from the commit
// in git mode, else from the file system; the project's own chart (in.ChartPath) is completed
// with chartDefaults.
func (in Inputs) loadChartDir(dir string) (*charts.Chart, error) {
	if in.Git != nil {
		files, err := in.Git.ChartFiles(dir)
		if err != nil {
			return nil, err
		}
		if dir == in.ChartPath {
			return charts.LoadChartFilesWith(dir, files, in.chartDefaults())
		}
		return charts.LoadChartFiles(dir, files)
	}
	if dir == in.ChartPath {
		return charts.LoadChartWith(dir, in.chartDefaults())
	}
	return charts.LoadChart(dir)
}

// releaseName is the release name: werf's rules in a werf project, else the chart's name.
func (in Inputs) releaseName(ch *charts.Chart) (string, error) {
	if in.Project != nil {
		return in.Project.Release(in.ReleaseName, in.Env, in.Namespace)
	}
	return ReleaseName(in.ReleaseName, ch.Name(), in.Env)
}

// ReleaseNameOf is the release name Prepare gives in without preparing it: werf's rules in a
// werf project, else the name of the chart at in.ChartPath (from the commit in git mode) with
// -Env. The commands that act on an existing release (dismiss, history, rollback) name it so.
func ReleaseNameOf(in Inputs) (string, error) {
	if in.Project != nil {
		return in.releaseName(nil)
	}
	ch, err := in.loadChartDir(in.ChartPath)
	if err != nil {
		return "", err
	}
	return in.releaseName(ch)
}

// Prepared is a chart ready to be rendered or deployed as a release.
type Prepared struct {
	ReleaseName string
	Namespace   string
	Chart       *charts.Chart
	// ChartPath is Inputs.ChartPath: the chart's directory or archive as named.
	ChartPath string
	Values    map[string]any
	// StoredValues are what revisions store instead of Values when Values hold decrypted
	// secrets; nil when there are none.
	StoredValues map[string]any
	Transform    helmsdk.Transform
	// TransformKey identifies Transform's settings (helmsdk.Config.TransformKey).
	TransformKey string
	// Commit is the git commit the chart came from; "" when not read from git.
	Commit string
	// Origin says where the chart came from when not from git; "" when from a directory.
	Origin string
}

// Prepare loads the chart, decrypts its secrets, merges the values and builds the transform
// that stamps annotations and rewrites images.
func Prepare(in Inputs) (*Prepared, error) {
	return withLoaded(in, prepareLoaded)
}

// withLoaded loads the chart of in and hands it to use; the copies made to load it (from a
// git commit) are removed after, and errors about them (a bad values file, say) name the
// user's paths.
func withLoaded[T any](in Inputs, use func(*loadedChart) (T, error)) (out T, err error) {
	l, err := load(in)
	if l != nil {
		defer l.copies.remove()
		defer func() { err = l.copies.rename(err) }()
	}
	if err != nil {
		return out, err
	}
	return use(l)
}

func prepareLoaded(l *loadedChart) (*Prepared, error) {
	in, ch := l.in, l.chart
	name, err := in.releaseName(ch)
	if err != nil {
		return nil, err
	}
	if in.Bundle {
		if in.Metadata, err = bundleMetadata(ch, in.Metadata); err != nil {
			return nil, err
		}
	}
	if in.DisableDefaultValues {
		ch.DropDefaultValues()
	}
	secretLayers, decryptedFiles, err := decryptSecrets(in, ch)
	if err != nil {
		return nil, err
	}
	userValues, err := charts.LoadValues(in.Values)
	if err != nil {
		return nil, err
	}
	vals, err := userValues.Merge()
	if err != nil {
		return nil, err
	}
	// The decrypted secret values win over every user value, values files and --set alike,
	// as in werf 1.2 (pkg/deploy/helm/chart_extender/helpers/chart_extender_values_merger.go)
	// and nelm (pkg/helm/pkg/chartutil/coalesce.go MergeInternal).
	for _, layer := range secretLayers {
		vals = charts.MergeMaps(vals, layer)
	}
	service, resolved, err := in.serviceValuesFor(ch, vals)
	if err != nil {
		return nil, err
	}
	if !in.NoValuesSchemaValidation {
		if err := resolved.Validate(); err != nil {
			return nil, err
		}
	}
	// The service values win over the user's; werf's export-values hand both down to the
	// subcharts.
	full, err := ch.ExportValues(vals, service)
	if err != nil {
		return nil, err
	}
	var stored map[string]any
	if len(secretLayers) > 0 || decryptedFiles > 0 {
		// Revisions store the values without the decrypted layers, as nelm does (the storage
		// keeps decrypted files out of every revision's chart).
		if stored, err = userValues.Merge(); err != nil {
			return nil, err
		}
		if stored, err = ch.ExportValues(stored, service); err != nil {
			return nil, err
		}
	}
	return &Prepared{
		ReleaseName:  name,
		Namespace:    in.Namespace,
		Chart:        ch,
		ChartPath:    in.ChartPath,
		Values:       full,
		StoredValues: stored,
		Transform:    transform(in.Metadata, in.Rewrites),
		TransformKey: transformKey(in.Metadata, in.Rewrites),
		Commit:       l.commit,
		Origin:       in.Origin,
	}, nil
}

// serviceValuesFor is the one decision on service values: those ch gets from in (nil when it
// gets none, see getsServiceValues), fitted to vals (the chart's own and the user's values, see
// fitToChart), and the values resolved without them, which values.schema.json checks (as
// Helm checks them; werf/werf pull request 7756).
func (in Inputs) serviceValuesFor(ch *charts.Chart, vals map[string]any) (map[string]any, *charts.ResolvedValues, error) {
	var service map[string]any
	if in.getsServiceValues(ch) {
		s := inject.ServiceValues{Env: in.Env, Namespace: in.Namespace, Images: in.Images, Version: version.Get().Version, Repo: in.Repo, Commit: in.Commit, DockerConfigJSON: in.DockerConfigJSON}
		if in.Project != nil {
			s.Project = in.Project.Project
		}
		service = s.Values()
		if in.Bundle {
			// A bundle carries the service values of its publication: only what is given now
			// replaces them (werf's GetBundleServiceValues), so an apply without --env keeps the
			// baked environment.
			service = s.BundleValues()
		}
	}
	return in.fitToChart(ch, vals, service)
}

// fitToChart resolves vals against ch and fits service to what each chart of the tree then
// sees (fitServiceValues); the resolved values leave the service values out.
func (in Inputs) fitToChart(ch *charts.Chart, vals, service map[string]any) (map[string]any, *charts.ResolvedValues, error) {
	// The schema checks the chart's defaults without the service values a bundle baked into
	// them; which subcharts are enabled is decided with them, as in the render.
	checkedChart, enableWith := ch, vals
	if in.Bundle {
		baked, err := bakedServiceValues(ch)
		if err != nil {
			return nil, nil, err
		}
		if baked != nil {
			checkedChart = ch.WithDefaults(charts.WithoutPaths(ch.Values(), baked))
			enableWith = charts.MergeMaps(baked, vals)
		}
	}
	checked, err := checkedChart.ExportValues(vals, nil)
	if err != nil {
		return nil, nil, err
	}
	resolved, err := checkedChart.ResolveValues(checked, charts.MergeMaps(enableWith, service))
	if err != nil {
		return nil, nil, fmt.Errorf("chart %q: %w", ch.Name(), err)
	}
	return fitServiceValues(service, resolved.Views(), in.Progress), resolved, nil
}

// ServiceValues is what ch gets as service values from in alone, with no user values: what
// helm giterm lint renders with, decided and fitted as Prepare decides and fits them.
func (in Inputs) ServiceValues(ch *charts.Chart) (map[string]any, error) {
	service, _, err := in.serviceValuesFor(ch, nil)
	return service, err
}

// getsServiceValues says whether the chart gets werf's service values (.Values.werf,
// .Values.global.werf, .Values.global.env, .Values.dockerconfigjson): in a werf project,
// when one of its templates reads them (a chart written for werf), or when an input that
// feeds them is given (--env, --image, --images-file, --repo, --set-docker-config-json-value).
// A Helm chart without any of these gets none, as nelm gives a plain chart none, and renders
// as helm template renders it.
func (in Inputs) getsServiceValues(ch *charts.Chart) bool {
	return in.Project != nil || in.Env != "" || len(in.Images) > 0 || in.Repo != "" || in.DockerConfigJSON != "" ||
		ch.TemplatesMatch(inject.TemplatesRead)
}

// fitServiceValues leaves out of service the keys that would retype a value the chart's or
// the user's values define (views: what each chart of the tree sees, the root's first): a
// chart's own global.env list stays its list. Subcharts share only global with the service
// values. What is left out is said on progress.
func fitServiceValues(service map[string]any, views []map[string]any, progress io.Writer) map[string]any {
	if service == nil {
		return nil
	}
	var left []string
	for i, view := range views {
		if i > 0 {
			view = map[string]any{"global": view["global"]}
		}
		var l []string
		service, l = inject.Fit(service, view)
		left = append(left, l...)
	}
	if progress != nil {
		for _, key := range left {
			fmt.Fprintf(progress, "service value %s left out: the chart's or your values give %s another type\n", key, key)
		}
	}
	return service
}

// loadedChart is a chart read for Prepare, with the inputs pointing at copies of the files
// read from a commit.
type loadedChart struct {
	in     Inputs
	chart  *charts.Chart
	commit string
	copies *commitCopies
}

func load(in Inputs) (*loadedChart, error) {
	progress := in.Progress
	if progress == nil {
		progress = io.Discard
	}
	l := &loadedChart{in: in, copies: &commitCopies{}}
	deps := charts.DependencyOptions{Out: progress, PlainHTTP: in.PlainHTTP, Offline: !in.DownloadDependencies}
	var err error
	switch {
	case in.Chart != nil:
		l.chart = in.Chart
	case in.Git != nil:
		if l.chart, err = charts.LoadChartTree(in.ChartPath, in.loadChartDir, deps); err != nil {
			return nil, err
		}
		l.commit = in.Git.Commit()
		copies, copyErr := fromCommit(in.Git, &l.in)
		if copies != nil {
			l.copies = copies
		}
		if copyErr != nil {
			return l, copyErr
		}
		l.in.Metadata.Annotations = withAnnotation(l.in.Metadata.Annotations, AnnotationGitCommit, l.commit)
	default:
		l.chart, err = charts.LoadChartTree(in.ChartPath, in.loadChartDir, deps)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// decryptSecrets returns the secret values layers and how many secret files were decrypted
// (they are in the chart's generated werf_secret_file template from now on).
func decryptSecrets(in Inputs, ch *charts.Chart) ([]map[string]any, int, error) {
	layers, cipher, err := decryptValueFiles(in, ch)
	if err != nil {
		return nil, 0, err
	}
	files := ch.FilesUnder(SecretFilesDir)
	plainFiles := map[string][]byte{}
	if in.IgnoreSecretKey {
		// The files stay as encrypted: werf_secret_file gives their ciphertext.
		for name, data := range files {
			plainFiles[strings.TrimPrefix(name, SecretFilesDir+"/")] = data
		}
		files = map[string][]byte{}
	}
	if len(files) > 0 && cipher == nil {
		if cipher, err = loadKey(in, chartFileName(in, SecretFilesDir)); err != nil {
			return nil, 0, err
		}
	}
	for name, data := range files {
		plain, err := cipher.Decrypt(data)
		if err != nil {
			return nil, 0, fmt.Errorf("decrypt %s: %w", chartFileName(in, name), err)
		}
		redact.AddSecretFile(plain)
		plainFiles[strings.TrimPrefix(name, SecretFilesDir+"/")] = plain
	}
	// Encrypted data has no use in templates and must not travel in .Files.
	ch.RemoveFiles(files)
	if f, ok := ch.File(DefaultSecretValuesFile); ok {
		ch.RemoveFiles(map[string][]byte{DefaultSecretValuesFile: f})
	}
	ch.ProvideSecretFiles(plainFiles)
	return layers, len(files), nil
}

// decryptValueFiles decrypts the chart's secret-values.yaml and the --secret-values files,
// in that order; the cipher is nil when there are none.
func decryptValueFiles(in Inputs, ch *charts.Chart) ([]map[string]any, *secrets.Cipher, error) {
	type encrypted struct {
		origin string
		data   []byte
	}
	var valueFiles []encrypted
	if data, ok := ch.File(DefaultSecretValuesFile); ok && !in.DisableDefaultSecretValues {
		valueFiles = append(valueFiles, encrypted{chartFileName(in, DefaultSecretValuesFile), data})
	}
	for _, f := range in.SecretValuesFiles {
		data, err := charts.ReadFileCapped(f)
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		if err != nil {
			return nil, nil, fmt.Errorf("--secret-values %s: %w", f, err)
		}
		valueFiles = append(valueFiles, encrypted{f, data})
	}
	if len(valueFiles) == 0 {
		return nil, nil, nil
	}
	if in.IgnoreSecretKey {
		var layers []map[string]any
		for _, f := range valueFiles {
			m, err := charts.ParseValuesYAML(f.data)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.origin, err)
			}
			layers = append(layers, m)
		}
		return layers, nil, nil
	}
	cipher, err := loadKey(in, valueFiles[0].origin)
	if err != nil {
		return nil, nil, err
	}
	var layers []map[string]any
	for _, f := range valueFiles {
		plain, err := cipher.DecryptValues(f.data)
		if err != nil {
			return nil, nil, fmt.Errorf("decrypt %s: %w", f.origin, err)
		}
		m, err := charts.ParseValuesYAML(plain)
		if err != nil {
			return nil, nil, fmt.Errorf("decrypt %s: %w", f.origin, err)
		}
		redact.AddValues(m)
		layers = append(layers, m)
	}
	return layers, cipher, nil
}

// chartFileName names a file of the chart for the user: its path, or the file within a bundle.
func chartFileName(in Inputs, name string) string {
	if in.Chart != nil && in.Origin != "" {
		return name + " of " + in.Origin
	}
	return path.Join(in.ChartPath, name)
}

// loadKey finds the secret key; its error names the first file that needs it.
func loadKey(in Inputs, firstFile string) (*secrets.Cipher, error) {
	cipher, err := secrets.KeySource{File: in.SecretKeyFile, ProjectDir: in.ProjectDir, Getenv: in.Getenv}.Load()
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", firstFile, err)
	}
	return cipher, nil
}

// HelmConfig is the release client's configuration for the prepared run: the release
// namespace, and the transform with its key, so that no client gets one without the other.
func (p *Prepared) HelmConfig(getter genericclioptions.RESTClientGetter, driver string) helmsdk.Config {
	return helmsdk.Config{Getter: getter, Namespace: p.Namespace, Driver: driver, Transform: p.Transform, TransformKey: p.TransformKey}
}

// transformKey identifies what transform(md, rewrites) does: the same key, the same edits
// (the build's commit included: the transform's code may change from one build to the next).
func transformKey(md annotate.Set, rewrites []inject.Rewrite) string {
	settings, err := json.Marshal(struct {
		Version, Commit string
		Metadata        annotate.Set
		Rewrites        []string
	}{version.Get().Version, version.Get().Commit, md, rewriteStrings(rewrites)})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(settings)
	return hex.EncodeToString(sum[:])
}

// rewriteStrings are rewrites as FROM=TO.
func rewriteStrings(rewrites []inject.Rewrite) []string {
	out := make([]string, 0, len(rewrites))
	for _, rw := range rewrites {
		out = append(out, rw.From+"="+rw.To.String())
	}
	return out
}

func transform(md annotate.Set, rewrites []inject.Rewrite) helmsdk.Transform {
	return func(data []byte) ([]byte, error) {
		checker := newObjectChecker()
		return manifest.Edit(data, func(o *manifest.Object) error {
			if err := checker.check(o); err != nil {
				return err
			}
			// What a --set or a template put into a Secret is masked like decrypted values.
			redact.AddSecretNode(o.Root)
			// Tracking and deploy annotations are checked here, before anything reaches the
			// cluster or a release revision is recorded.
			if err := lifecycle.CheckWerfAnnotations(o.Annotations()); err != nil {
				return fmt.Errorf("%s: %s %q: %w", o.Source(), o.Kind(), o.Name(), err)
			}
			if _, err := readiness.ParsePolicy(o.Annotations()); err != nil {
				return fmt.Errorf("%s: %s %q: %w", o.Source(), o.Kind(), o.Name(), err)
			}
			l, err := lifecycle.Parse(o.Kind(), o.Annotations())
			if err != nil {
				return fmt.Errorf("%s: %s %q: %w", o.Source(), o.Kind(), o.Name(), err)
			}
			if l.ReplicasOnCreation != nil {
				// The stored manifest never carries replicas, so that upgrades leave the
				// scale to the HPA; the applier sets them when it creates the object.
				manifest.Delete(manifest.Lookup(o.Root, "spec"), "replicas")
			}
			if err := inject.RewriteImages(o, rewrites); err != nil {
				return err
			}
			return md.Apply(o)
		})
	}
}

// MetadataRequest is the global annotations and labels a user asked for.
type MetadataRequest struct {
	// AnnotationFlags and LabelFlags are key=value items of --add-annotation and --add-label.
	AnnotationFlags, LabelFlags []string
	// Environ is the process environment, read for WERF_ADD_ANNOTATION_* and WERF_ADD_LABEL_*
	// and for CI variables.
	Environ []string
	Env     string
	// Project is the werf project's name; "" outside a werf project.
	Project string
}

// Metadata combines the automatic annotations (tool version, env, CI origin) with those of
// the environment and the flags; flags win.
func Metadata(req MetadataRequest) (annotate.Set, error) {
	env := map[string]string{}
	for _, kv := range req.Environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// werf's automatic annotations too (werf.io/version, project.werf.io/name and
	// project.werf.io/env; werf pkg/deploy/helm), so that tooling built on them finds
	// objects converge deployed.
	ann := map[string]string{AnnotationVersion: version.Get().Version, lifecycle.AnnotationWerfVersion: version.Get().Version}
	if req.Env != "" {
		ann[AnnotationEnv] = req.Env
		ann[AnnotationWerfProjectEnv] = req.Env
	}
	if req.Project != "" {
		ann[AnnotationWerfProjectName] = req.Project
	}
	for k, v := range annotate.CIAnnotations(func(k string) string { return env[k] }) {
		ann[k] = v
	}
	labels := map[string]string{}
	for _, src := range []struct {
		source string
		kind   annotate.Kind
		items  []string
		into   map[string]string
	}{
		{"WERF_ADD_ANNOTATION_*", annotate.KindAnnotation, annotate.FromEnv(req.Environ, "WERF_ADD_ANNOTATION_"), ann},
		{"--add-annotation", annotate.KindAnnotation, req.AnnotationFlags, ann},
		{"WERF_ADD_LABEL_*", annotate.KindLabel, annotate.FromEnv(req.Environ, "WERF_ADD_LABEL_"), labels},
		{"--add-label", annotate.KindLabel, req.LabelFlags, labels},
	} {
		parsed, err := annotate.ParsePairs(src.kind, src.source, src.items)
		if err != nil {
			return annotate.Set{}, err
		}
		for k, v := range parsed {
			src.into[k] = v
		}
	}
	return annotate.Set{Annotations: ann, Labels: labels}, nil
}

func withAnnotation(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, value := range m {
		out[key] = value
	}
	return out
}

// commitCopies are the temporary copies of committed files that Helm reads in place of the
// user's paths.
type commitCopies struct {
	dir      string
	original map[string]string // copy -> the path the user gave
}

func (c *commitCopies) remove() {
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// rename puts the user's paths back into an error that names a copy.
func (c *commitCopies) rename(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for copyPath, orig := range c.original {
		msg = strings.ReplaceAll(msg, copyPath, orig)
	}
	if msg == err.Error() {
		return err
	}
	return &renamedError{msg: msg, err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// fromCommit replaces the values, secret values and --set-file files named in in with copies
// of their committed content, so that nothing is read from the working tree.
func fromCommit(repo *giterm.Repo, in *Inputs) (*commitCopies, error) {
	copies := &commitCopies{original: map[string]string{}}
	dir, err := os.MkdirTemp("", "converge-commit-files-")
	if err != nil {
		return copies, err
	}
	copies.dir = dir
	copyOf := func(p string) (string, error) {
		if strings.Contains(p, "://") {
			return p, nil // URLs are fetched, not read from git
		}
		data, err := repo.File(p)
		if err != nil {
			return "", err
		}
		out := filepath.Join(dir, fmt.Sprintf("%d-%s", len(copies.original)+1, filepath.Base(p)))
		copies.original[out] = p
		return out, os.WriteFile(out, data, 0o600)
	}
	mapPaths := func(paths []string) ([]string, error) {
		out := make([]string, len(paths))
		for i, p := range paths {
			var err error
			if out[i], err = copyOf(p); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if in.Values.Files, err = mapPaths(in.Values.Files); err != nil {
		return copies, err
	}
	if in.SecretValuesFiles, err = mapPaths(in.SecretValuesFiles); err != nil {
		return copies, err
	}
	setFiles := make([]string, len(in.Values.SetFile))
	for i, item := range in.Values.SetFile {
		key, p, ok := strings.Cut(item, "=")
		if !ok {
			setFiles[i] = item
			continue
		}
		copied, err := copyOf(p)
		if err != nil {
			return copies, err
		}
		setFiles[i] = key + "=" + copied
	}
	in.Values.SetFile = setFiles
	return copies, nil
}

// Description is the release description of the revision: where the chart came from.
func (p *Prepared) Description() string {
	switch {
	case p.Commit != "":
		return "Deployed from git commit " + p.Commit
	case p.Origin != "":
		return "Deployed from " + p.Origin
	}
	return ""
}
