// Package werfproject reads the deploy part of a werf project (werf.yaml) and names its
// release and namespace exactly as werf does, so that a werf user's repository deploys to the
// same release unchanged. Sources of truth: werf pkg/config (werf.yaml, its Go templating),
// pkg/config/deploy_params (names) and pkg/slug (slugs).
package werfproject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
)

// ConfigFiles are the names werf looks for in the project directory, in order.
var ConfigFiles = []string{"werf.yaml", "werf.yml"}

// DefaultChartDir is the chart of a werf project unless deploy.helmChartDir says otherwise.
const DefaultChartDir = ".helm"

// Config is what a deploy needs from werf.yaml.
type Config struct {
	// File is the path of werf.yaml, for errors.
	File    string
	Project string
	// ChartDir is deploy.helmChartDir, relative to the project directory; by default .helm
	// beside werf.yaml.
	ChartDir string
	// AppVersion is deploy.helmChartConfig.appVersion: the chart's appVersion when set.
	AppVersion string

	releaseTemplate, namespaceTemplate string
	releaseSlug, namespaceSlug         bool
}

// meta is the meta section of werf.yaml: the document with configVersion (the others
// describe images).
type meta struct {
	Project       *string `yaml:"project"`
	ConfigVersion *int    `yaml:"configVersion"`
	Deploy        struct {
		HelmChartDir    *string `yaml:"helmChartDir"`
		HelmRelease     *string `yaml:"helmRelease"`
		HelmReleaseSlug *bool   `yaml:"helmReleaseSlug"`
		Namespace       *string `yaml:"namespace"`
		NamespaceSlug   *bool   `yaml:"namespaceSlug"`
		HelmChartConfig struct {
			AppVersion *string `yaml:"appVersion"`
		} `yaml:"helmChartConfig"`
	} `yaml:"deploy"`
}

// metaKeys are the keys werf accepts in the meta section (werf 1.2 pkg/config/raw_meta.go,
// raw_meta_deploy.go; helmChartConfig is werf 2's), by parent: werf refuses any other.
// build, cleanup and gitWorktree concern builds and cleanups, not deploys: their contents
// are left to werf.
var metaKeys = map[string][]string{
	"":                       {"configVersion", "project", "build", "deploy", "cleanup", "gitWorktree"},
	"deploy":                 {"helmChartDir", "helmRelease", "helmReleaseSlug", "namespace", "namespaceSlug", "helmChartConfig"},
	"deploy.helmChartConfig": {"appVersion"},
}

// parseMeta finds the meta section of rendered werf.yaml: exactly one document with
// configVersion, as werf requires.
func parseMeta(path string, rendered []byte) (meta, error) {
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	var found map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return meta{}, fmt.Errorf("%s: %w", path, err)
		}
		if _, ok := doc["configVersion"]; !ok {
			continue
		}
		if found != nil {
			return meta{}, fmt.Errorf("%s: two documents with configVersion: werf.yaml has one meta section", path)
		}
		found = doc
	}
	if found == nil {
		return meta{}, fmt.Errorf("%s: no document with configVersion: werf.yaml starts with configVersion: 1 and project", path)
	}
	for parent, keys := range metaKeys {
		section := found
		if parent != "" {
			for _, name := range strings.Split(parent, ".") {
				section, _ = section[name].(map[string]any)
			}
		}
		for key := range section {
			if !slices.Contains(keys, key) {
				return meta{}, fmt.Errorf("%s: unknown key %s in the meta section (werf accepts %s)", path, strings.TrimPrefix(parent+"."+key, "."), strings.Join(keys, ", "))
			}
		}
	}
	data, err := yaml.Marshal(found)
	if err != nil {
		return meta{}, fmt.Errorf("%s: %w", path, err)
	}
	var m meta
	if err := yaml.Unmarshal(data, &m); err != nil {
		return meta{}, fmt.Errorf("%s: %s", path, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if m.ConfigVersion == nil || *m.ConfigVersion != 1 {
		return meta{}, fmt.Errorf("%s: configVersion must be 1", path)
	}
	if m.Project == nil || *m.Project == "" {
		return meta{}, fmt.Errorf("%s: project cannot be empty", path)
	}
	return m, nil
}

func newConfig(path string, m meta) (*Config, error) {
	if err := validateProject(*m.Project); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &Config{File: path, Project: *m.Project, ChartDir: DefaultChartDir, releaseSlug: true, namespaceSlug: true}
	d := m.Deploy
	for _, field := range []struct {
		name  string
		value *string
		into  *string
	}{
		{"deploy.helmChartDir", d.HelmChartDir, &c.ChartDir},
		{"deploy.helmRelease", d.HelmRelease, &c.releaseTemplate},
		{"deploy.namespace", d.Namespace, &c.namespaceTemplate},
	} {
		if field.value == nil {
			continue
		}
		if *field.value == "" {
			return nil, fmt.Errorf("%s: %s cannot be empty", path, field.name)
		}
		*field.into = *field.value
	}
	if d.HelmReleaseSlug != nil {
		c.releaseSlug = *d.HelmReleaseSlug
	}
	if d.NamespaceSlug != nil {
		c.namespaceSlug = *d.NamespaceSlug
	}
	if d.HelmChartConfig.AppVersion != nil {
		c.AppVersion = *d.HelmChartConfig.AppVersion
	}
	return c, nil
}

// defaultTemplate is werf's name template: the project, with the environment when there is
// one.
func defaultTemplate(env string) string {
	if env == "" {
		return "[[ project ]]"
	}
	return "[[ project ]]-[[ env ]]"
}

// Namespace is the namespace werf deploys to: explicit (--namespace, WERF_NAMESPACE) as
// given after validation, else deploy.namespace (default [[ project ]]-[[ env ]]) rendered
// and slugged unless deploy.namespaceSlug is false.
func (c *Config) Namespace(explicit, env string) (string, error) {
	if explicit != "" {
		if err := ValidateNamespace(explicit); err != nil {
			return "", fmt.Errorf("namespace %q: %w", explicit, err)
		}
		return explicit, nil
	}
	tmpl := c.namespaceTemplate
	if tmpl == "" {
		tmpl = defaultTemplate(env)
	}
	name, err := c.renderName("deploy.namespace", tmpl, env, "")
	if err != nil {
		return "", err
	}
	if c.namespaceSlug {
		return NamespaceSlug(name), nil
	}
	if err := ValidateNamespace(name); err != nil {
		return "", fmt.Errorf("%s: deploy.namespace %q renders %q: %w", c.File, tmpl, name, err)
	}
	return name, nil
}

// Release is the release name werf uses: explicit (--release, WERF_RELEASE) as given after
// validation, else deploy.helmRelease (default [[ project ]]-[[ env ]]; [[ namespace ]] is
// the release namespace) rendered and slugged unless deploy.helmReleaseSlug is false.
func (c *Config) Release(explicit, env, namespace string) (string, error) {
	if explicit != "" {
		if err := ValidateRelease(explicit); err != nil {
			return "", fmt.Errorf("--release %q: %w", explicit, err)
		}
		return explicit, nil
	}
	tmpl := c.releaseTemplate
	if tmpl == "" {
		tmpl = defaultTemplate(env)
	}
	name, err := c.renderName("deploy.helmRelease", tmpl, env, namespace)
	if err != nil {
		return "", err
	}
	if c.releaseSlug {
		return ReleaseSlug(name), nil
	}
	if err := ValidateRelease(name); err != nil {
		return "", fmt.Errorf("%s: deploy.helmRelease %q renders %q: %w", c.File, tmpl, name, err)
	}
	return name, nil
}

// renderName executes a name template with werf's [[ ]] delimiters and its functions
// project, env and namespace (sprig's, without environment access).
func (c *Config) renderName(field, text, env, namespace string) (string, error) {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "expandenv")
	funcs["project"] = func() string { return c.Project }
	funcs["env"] = func() string { return env }
	funcs["namespace"] = func() string { return namespace }
	tmpl, err := template.New(field).Delims("[[", "]]").Funcs(funcs).Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %s %q: %w", c.File, field, text, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("%s: %s %q: %w", c.File, field, text, err)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("%s: %s %q renders an empty name", c.File, field, text)
	}
	return b.String(), nil
}
