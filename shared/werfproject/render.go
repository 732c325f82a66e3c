package werfproject

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
)

// TemplatesDir is where werf reads the partials werf.yaml may include (every **/*.tmpl),
// relative to the project directory, unless --config-templates-dir says otherwise.
const TemplatesDir = ".werf"

// LoadOptions say where werf.yaml is and what its templates may see.
type LoadOptions struct {
	// Dir is the project directory (see Find).
	Dir string
	// Config is --config: the path of werf.yaml; "" is werf.yaml (else werf.yml) in Dir.
	Config string
	// TemplatesDir is --config-templates-dir; "" is .werf in Dir.
	TemplatesDir string
	// Read reads a file of the project by path (.Files.Get): from the commit in git mode.
	// nil reads the file system.
	Read func(path string) ([]byte, error)
	// ReadDir returns the files below a directory keyed by their slash path relative to it
	// (.Files.Glob), and an error wrapping fs.ErrNotExist when there is no such directory:
	// from the commit in git mode. nil reads the file system.
	ReadDir func(dir string) (map[string][]byte, error)
	// ReadConfig reads werf.yaml and ReadTemplates its partials, where git mode allows other
	// uncommitted files than for .Files; nil: Read and ReadDir.
	ReadConfig    func(path string) ([]byte, error)
	ReadTemplates func(dir string) (map[string][]byte, error)
	// Env is --env: {{ .Env }} in werf.yaml.
	Env string
	// LookupEnv reads the environment for {{ env "NAME" }} and WERF_PROJECT_NAME; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// EnvAllowed says whether werf.yaml may read an environment variable: werf refuses those
	// werf-giterminism.yaml does not allow (config.goTemplateRendering.allowEnvVariables)
	// unless giterminism is loose. nil allows every variable.
	EnvAllowed func(name string) bool
	// Commit is the project's commit, {{ .Commit }} in werf.yaml; nil outside git, where a
	// werf.yaml that reads .Commit fails.
	Commit *Commit
}

// Commit is the commit werf.yaml is read from.
type Commit struct {
	Hash string
	// Date is the author date.
	Date time.Time
}

// Load reads werf.yaml of the project directory (or --config) and its partials, renders
// them as werf does and returns the deploy part; nil (and no error) when the project has no
// werf.yaml and none was named.
func Load(opts LoadOptions) (*Config, error) {
	if opts.Read == nil {
		opts.Read = os.ReadFile
	}
	if opts.ReadDir == nil {
		opts.ReadDir = readDir
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadConfig == nil {
		opts.ReadConfig = opts.Read
	}
	if opts.ReadTemplates == nil {
		opts.ReadTemplates = opts.ReadDir
	}
	file := configIn(opts.Dir)
	if opts.Config != "" {
		var err error
		if file, err = filepath.Abs(opts.Config); err != nil {
			return nil, err
		}
	}
	if file == "" {
		return nil, nil
	}
	raw, err := opts.ReadConfig(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	rel, err := filepath.Rel(opts.Dir, file)
	if err != nil {
		rel = filepath.Base(file)
	}
	rendered, err := render(file, filepath.ToSlash(rel), raw, opts)
	if err != nil {
		return nil, err
	}
	m, err := parseMeta(file, rendered)
	if err != nil {
		return nil, err
	}
	if name, ok := opts.LookupEnv("WERF_PROJECT_NAME"); ok && name != "" {
		// werf pkg/config/raw_meta.go toMeta: the variable replaces the project's name.
		m.Project = &name
	}
	c, err := newConfig(file, m)
	if err != nil {
		return nil, err
	}
	if m.Deploy.HelmChartDir == nil {
		// werf cmd/werf/common GetHelmChartDir: .helm beside werf.yaml.
		c.ChartDir = filepath.Join(filepath.Dir(rel), DefaultChartDir)
	}
	return c, nil
}

// render executes werf.yaml as werf 1.2 does (pkg/config/parser.go renderWerfConfigYaml): a
// Go template named after its path in the project, with sprig's functions (expandenv
// excepted), fromYaml, include and tpl, env (gated by giterminism) and required; the
// partials of .werf/**/*.tmpl are templates named by their path below .werf; the data are
// .Env, .Files (Get, Glob) and .Commit (Hash, Date.Human, Date.Unix).
func render(file, name string, raw []byte, opts LoadOptions) ([]byte, error) {
	tmpl := template.New(name)
	tmpl.Funcs(funcMap(tmpl, opts))
	templatesDir := opts.TemplatesDir
	if templatesDir == "" {
		templatesDir = filepath.Join(opts.Dir, TemplatesDir)
	}
	partials, err := opts.ReadTemplates(templatesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the werf.yaml partials in %s: %w", templatesDir, err)
	}
	for _, p := range sortedKeys(partials) {
		if !strings.HasSuffix(p, ".tmpl") {
			continue
		}
		if _, err := tmpl.New(p).Parse(string(partials[p])); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(templatesDir, p), oneLine(err))
		}
	}
	if _, err := tmpl.Parse(string(raw)); err != nil {
		return nil, fmt.Errorf("%s: %w", file, oneLine(err))
	}
	data := map[string]any{
		"Env":    opts.Env,
		"Files":  files{opts: opts},
		"Commit": commitData{opts.Commit},
	}
	var out bytes.Buffer
	if err := tmpl.ExecuteTemplate(&out, name, data); err != nil {
		return nil, fmt.Errorf("%s: %w", file, oneLine(err))
	}
	return out.Bytes(), nil
}

func funcMap(tmpl *template.Template, opts LoadOptions) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "expandenv")
	funcs["fromYaml"] = func(s string) (map[string]any, error) {
		m := map[string]any{}
		err := yaml.Unmarshal([]byte(s), &m)
		return m, err
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
	funcs["env"] = func(variable any, fallback ...string) (string, error) {
		name := fmt.Sprint(variable)
		if len(fallback) > 1 {
			return "", fmt.Errorf("env %q: at most one default", name)
		}
		if opts.EnvAllowed != nil && !opts.EnvAllowed(name) {
			return "", fmt.Errorf("env %q: werf-giterminism.yaml does not allow it: add it to config.goTemplateRendering.allowEnvVariables", name)
		}
		value, found := opts.LookupEnv(name)
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
			return v, errors.New(msg)
		}
		return v, nil
	}
	return funcs
}

// files is .Files in werf.yaml: the project's files by path relative to the project
// directory (werf pkg/config/parser.go files).
type files struct{ opts LoadOptions }

// Get returns the file's content.
func (f files) Get(name string) (string, error) {
	data, err := f.opts.Read(filepath.Join(f.opts.Dir, filepath.FromSlash(name)))
	if err != nil {
		return "", fmt.Errorf("{{ .Files.Get %q }}: %w", name, err)
	}
	return string(data), nil
}

// Glob returns the contents of the files matching pattern (** matches any number of
// directories) keyed by their path; no match is an error, as in werf.
func (f files) Glob(pattern string) (map[string]any, error) {
	prefix := globPrefix(pattern)
	found, err := f.opts.ReadDir(filepath.Join(f.opts.Dir, filepath.FromSlash(prefix)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("{{ .Files.Glob %q }}: %w", pattern, err)
	}
	out := map[string]any{}
	for name, data := range found {
		p := path.Join(prefix, name)
		if globMatch(strings.Split(pattern, "/"), strings.Split(p, "/")) {
			out[p] = string(data)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("{{ .Files.Glob %q }}: no matches found", pattern)
	}
	return out, nil
}

// globPrefix is the directory part of pattern before its first wildcard.
func globPrefix(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, part := range parts {
		if strings.ContainsAny(part, "*?[\\") {
			return strings.Join(parts[:i], "/")
		}
	}
	return path.Dir(pattern)
}

// globMatch matches path segments against pattern segments, ** matching zero or more.
func globMatch(pattern, name []string) bool {
	if len(pattern) == 0 {
		return len(name) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if globMatch(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pattern[0], name[0])
	return err == nil && ok && globMatch(pattern[1:], name[1:])
}

// commitData is .Commit in werf.yaml: Hash, Date.Human (Go's time format) and Date.Unix (a
// string), as werf sets them.
type commitData struct{ c *Commit }

// commitDate is .Commit.Date.
type commitDate struct{ Human, Unix string }

var errNoCommit = errors.New("werf.yaml reads .Commit, and the project is not in a git repository with a commit")

// Hash is the commit's hash.
func (d commitData) Hash() (string, error) {
	if d.c == nil {
		return "", errNoCommit
	}
	return d.c.Hash, nil
}

// Date is the commit's author date.
func (d commitData) Date() (commitDate, error) {
	if d.c == nil {
		return commitDate{}, errNoCommit
	}
	return commitDate{Human: d.c.Date.String(), Unix: strconv.FormatInt(d.c.Date.Unix(), 10)}, nil
}

// readDir reads the files below dir from the file system, .git excepted.
func readDir(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	return out, err
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// oneLine keeps a template error on one line: a message given to required or fail may
// span several.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, "\n", " "))
}
