// Package werfproject reads the deploy part of a werf project (werf.yaml) and names its
// release and namespace exactly as werf does, so that a werf user's repository deploys to the
// same release unchanged. Sources of truth: werf pkg/config (werf.yaml, its Go templating),
// pkg/config/deploy_params (names) and pkg/slug (slugs).
package werfproject

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

// ConfigFiles are the names werf looks for at the project root, in order.
var ConfigFiles = []string{"werf.yaml", "werf.yml"}

// DefaultChartDir is the chart of a werf project unless deploy.helmChartDir says otherwise.
const DefaultChartDir = ".helm"

// Config is what a deploy needs from werf.yaml.
type Config struct {
	// File is the path of werf.yaml, for errors.
	File    string
	Project string
	// ChartDir is deploy.helmChartDir (default .helm), relative to the project root.
	ChartDir string
	// AppVersion is deploy.helmChartConfig.appVersion: the chart's appVersion when set.
	AppVersion string

	releaseTemplate, namespaceTemplate string
	releaseSlug, namespaceSlug         bool
}

// LoadOptions say where werf.yaml is and what its templates may see.
type LoadOptions struct {
	// Dir is the project root.
	Dir string
	// Read reads a file of the project by path: from the commit in git mode. nil reads the
	// file system.
	Read func(path string) ([]byte, error)
	// Env is --env: {{ .Env }} in werf.yaml.
	Env string
	// LookupEnv reads the environment for {{ env "NAME" }}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// EnvAllowed says whether werf.yaml may read an environment variable: werf refuses those
	// werf-giterminism.yaml does not allow (config.goTemplateRendering.allowEnvVariables)
	// unless giterminism is loose. nil allows every variable.
	EnvAllowed func(name string) bool
}

// Load reads werf.yaml from the project root; it returns nil (and no error) when the project
// has none.
func Load(opts LoadOptions) (*Config, error) {
	read := opts.Read
	if read == nil {
		read = os.ReadFile
	}
	var path string
	var raw []byte
	for _, name := range ConfigFiles {
		candidate := filepath.Join(opts.Dir, name)
		if _, err := os.Lstat(candidate); err != nil {
			continue
		}
		data, err := read(candidate)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", candidate, err)
		}
		path, raw = candidate, data
		break
	}
	if path == "" {
		return nil, nil
	}
	rendered, err := renderConfig(path, raw, opts)
	if err != nil {
		return nil, err
	}
	return parseMeta(path, rendered)
}

// renderConfig executes werf.yaml as werf does: a Go template with sprig's functions, env
// (gated) and required, include and tpl of templates it defines, and .Env.
func renderConfig(path string, raw []byte, opts LoadOptions) ([]byte, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	tmpl := template.New(filepath.Base(path))
	funcs := sprig.TxtFuncMap()
	delete(funcs, "expandenv")
	funcs["env"] = func(name string, fallback ...string) (string, error) {
		if len(fallback) > 1 {
			return "", fmt.Errorf("env %q: at most one default", name)
		}
		if opts.EnvAllowed != nil && !opts.EnvAllowed(name) {
			return "", fmt.Errorf("env %q: werf-giterminism.yaml does not allow it: add it to config.goTemplateRendering.allowEnvVariables", name)
		}
		value, found := lookup(name)
		if (!found || value == "") && len(fallback) == 1 {
			return fallback[0], nil
		}
		if !found && opts.EnvAllowed != nil {
			return "", fmt.Errorf("env %q: the environment variable must be set or a default given", name)
		}
		return value, nil
	}
	funcs["required"] = func(msg string, v any) (any, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, data any) (string, error) {
		var b bytes.Buffer
		err := tmpl.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	funcs["tpl"] = func(text string, data any) (string, error) {
		t, err := tmpl.Clone()
		if err != nil {
			return "", err
		}
		if t, err = t.New("tpl").Parse(text); err != nil {
			return "", err
		}
		var b bytes.Buffer
		err = t.Execute(&b, data)
		return b.String(), err
	}
	tmpl, err := tmpl.Funcs(funcs).Option("missingkey=zero").Parse(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{"Env": opts.Env}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out.Bytes(), nil
}

// meta is the document of werf.yaml that holds project (the others describe images).
type meta struct {
	Project       string `yaml:"project"`
	ConfigVersion int    `yaml:"configVersion"`
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

func parseMeta(path string, rendered []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(rendered))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				return nil, fmt.Errorf("%s: no document with project: werf.yaml starts with project and configVersion", path)
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, ok := doc["project"]; !ok {
			continue
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var m meta
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return newConfig(path, m)
	}
}

func newConfig(path string, m meta) (*Config, error) {
	if err := validateProject(m.Project); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.ConfigVersion != 1 {
		return nil, fmt.Errorf("%s: configVersion must be 1, got %d", path, m.ConfigVersion)
	}
	c := &Config{File: path, Project: m.Project, ChartDir: DefaultChartDir, releaseSlug: true, namespaceSlug: true}
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
