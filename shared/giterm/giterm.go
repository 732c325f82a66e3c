// Package giterm reads charts and the files they use from a git commit (giterminism, as werf
// does): what is deployed is exactly what is committed. Uncommitted changes under the paths a
// command reads stop it with an error naming each file; only those paths are checked, so the
// cost does not grow with the size of the repository.
package giterm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"sigs.k8s.io/yaml"
)

// Mode is how strictly files must come from the commit.
type Mode string

const (
	// ModeStrict reads from the commit and refuses uncommitted changes (the default).
	ModeStrict Mode = "strict"
	// ModeDev reads the working tree, untracked files included, ignored files excluded.
	ModeDev Mode = "dev"
	// ModeLoose reads the file system with no checks at all.
	ModeLoose Mode = "loose"
)

// ConfigFile is werf's giterminism config, read from the commit in the project directory
// unless --giterminism-config names another file.
const ConfigFile = "werf-giterminism.yaml"

// Config is the part of werf's giterminism config that concerns charts.
type Config struct {
	// GiterminismConfigVersion is 1, written as a number or as the string "1" (werf's schema
	// takes either: pkg/giterminism_manager/config/openapi_spec.go).
	GiterminismConfigVersion any `json:"giterminismConfigVersion"`
	Helm                     struct {
		// AllowUncommittedFiles are globs (relative to the repository root) of files read
		// from the working tree even in strict mode.
		AllowUncommittedFiles []string `json:"allowUncommittedFiles"`
	} `json:"helm"`
	Config struct {
		// AllowUncommitted reads werf.yaml from the working tree.
		AllowUncommitted bool `json:"allowUncommitted"`
		// AllowUncommittedTemplates are globs of the partials (.werf/**/*.tmpl) read from
		// the working tree.
		AllowUncommittedTemplates []string `json:"allowUncommittedTemplates"`
		GoTemplateRendering       struct {
			// AllowEnvVariables are the environment variables werf.yaml may read: names, or
			// regular expressions between slashes ("/^CI_/").
			AllowEnvVariables []string `json:"allowEnvVariables"`
			// AllowUncommittedFiles are globs of the files werf.yaml reads with .Files.Get
			// and .Files.Glob from the working tree.
			AllowUncommittedFiles []string `json:"allowUncommittedFiles"`
		} `json:"goTemplateRendering"`
	} `json:"config"`
}

// Files are the kinds of files a project reads, each with its own allowance of uncommitted
// files in the giterminism config (werf pkg/giterminism_manager/config).
type Files int

const (
	// FilesHelm are the chart and the files named on the command line: helm.allowUncommittedFiles.
	FilesHelm Files = iota
	// FilesWerfConfig is werf.yaml: config.allowUncommitted.
	FilesWerfConfig
	// FilesWerfTemplates are werf.yaml's partials: config.allowUncommittedTemplates.
	FilesWerfTemplates
	// FilesWerfTemplateFiles are what werf.yaml reads with .Files:
	// config.goTemplateRendering.allowUncommittedFiles.
	FilesWerfTemplateFiles
)

// HasConfig reports whether HEAD of the repository holding the project directory dir
// commits its giterminism config (config, see Open), which turns giterminism on for
// commands that default to plain files.
func HasConfig(dir, config string) bool {
	return Commits(dir, configPath(dir, config))
}

// Commits reports whether HEAD of the repository holding dir has one of files (paths on the
// file system, inside its work tree).
func Commits(dir string, files ...string) bool {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return false
	}
	wt, err := repo.Worktree()
	if err != nil {
		return false
	}
	head, err := repo.Head()
	if err != nil {
		return false
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return false
	}
	for _, f := range files {
		rel, err := (&Repo{root: wt.Filesystem.Root()}).rel(f)
		if err != nil {
			continue
		}
		if _, err := commit.File(rel); err == nil {
			return true
		}
	}
	return false
}

// configPath is the giterminism config of the project directory dir: config (werf's
// --giterminism-config) relative to dir, else werf-giterminism.yaml in dir.
func configPath(dir, config string) string {
	if config == "" {
		config = ConfigFile
	}
	if filepath.IsAbs(config) {
		return config
	}
	return filepath.Join(dir, config)
}

// Repo is a git repository opened at one commit.
type Repo struct {
	allowedEnv []string
	root       string
	// config is the giterminism config's path in the repository, project the project
	// directory's (the globs of the config are relative to it).
	config, project string
	commit          *object.Commit
	tree            *object.Tree
	mode            Mode
	// allowed are the uncommitted files this reader takes from the working tree, those
	// the config allows for the kind of files it reads (For); allowedBy of every kind.
	allowed   []*regexp.Regexp
	allowedBy map[Files][]*regexp.Regexp
	// checkWorktree is set when the commit is the one checked out.
	checkWorktree bool
}

// Open finds the repository holding the project directory dir (linked worktrees included)
// and resolves ref (HEAD when empty). The giterminism config is config relative to dir
// (werf's --giterminism-config), else werf-giterminism.yaml in dir, as werf reads it.
func Open(dir, ref string, mode Mode, config string) (*Repo, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("giterminism: %q is not in a git repository (%v); use --loose-giterminism to read plain files", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("giterminism: %w", err)
	}
	if ref == "" {
		ref = "HEAD"
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		return nil, fmt.Errorf("giterminism: resolve --git-ref %q: %w", ref, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, fmt.Errorf("giterminism: commit %s of %q: %w (a shallow clone may lack it: fetch more history)", hash, ref, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("giterminism: tree of commit %s: %w", hash, err)
	}
	r := &Repo{root: wt.Filesystem.Root(), commit: commit, tree: tree, mode: mode}
	if r.config, err = r.rel(configPath(dir, config)); err != nil {
		return nil, fmt.Errorf("--giterminism-config: %w", err)
	}
	if r.project, err = r.rel(dir); err != nil {
		return nil, err
	}
	// The working tree says nothing about another commit than the checked-out one: only
	// then are uncommitted changes a reason to stop.
	if head, err := repo.Head(); err == nil {
		r.checkWorktree = head.Hash() == *hash
	}
	if err := r.loadConfig(); err != nil {
		return nil, err
	}
	return r, nil
}

// Root is the work tree root.
func (r *Repo) Root() string { return r.root }

// realRoot is Root with its symlinks resolved, as ForbidSecretKeyFile records key files.
func (r *Repo) realRoot() string {
	if real, err := filepath.EvalSymlinks(r.root); err == nil {
		return real
	}
	return r.root
}

// Commit is the hash of the commit files are read from.
func (r *Repo) Commit() string { return r.commit.Hash.String() }

func (r *Repo) loadConfig() error {
	f, err := r.tree.File(r.config)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("giterminism: read %s from the commit: %w", r.config, err)
	}
	raw, err := f.Contents()
	if err != nil {
		return err
	}
	cfg, err := parseConfig(r.config, []byte(raw))
	if err != nil {
		return err
	}
	r.allowedEnv = cfg.Config.GoTemplateRendering.AllowEnvVariables
	for _, entry := range r.allowedEnv {
		if pattern, ok := envPattern(entry); ok {
			if _, err := regexp.Compile(pattern); err != nil {
				return fmt.Errorf("giterminism: %s: config.goTemplateRendering.allowEnvVariables %q: %w", r.config, entry, err)
			}
		}
	}
	r.allowedBy = map[Files][]*regexp.Regexp{}
	if cfg.Config.AllowUncommitted {
		r.allowedBy[FilesWerfConfig] = []*regexp.Regexp{regexp.MustCompile(".*")}
	}
	for _, kind := range []struct {
		files Files
		field string
		globs []string
	}{
		{FilesHelm, "helm.allowUncommittedFiles", cfg.Helm.AllowUncommittedFiles},
		{FilesWerfTemplates, "config.allowUncommittedTemplates", cfg.Config.AllowUncommittedTemplates},
		{FilesWerfTemplateFiles, "config.goTemplateRendering.allowUncommittedFiles", cfg.Config.GoTemplateRendering.AllowUncommittedFiles},
	} {
		for _, g := range kind.globs {
			re, err := globRegexp(path.Join(r.project, g))
			if err != nil {
				return fmt.Errorf("giterminism: %s: %s %q: %w", r.config, kind.field, g, err)
			}
			r.allowedBy[kind.files] = append(r.allowedBy[kind.files], re)
		}
	}
	r.allowed = r.allowedBy[FilesHelm]
	return nil
}

// For is a reader of the same commit for files of the kind given: the uncommitted files it
// takes from the working tree are those the giterminism config allows for that kind.
func (r *Repo) For(kind Files) *Repo {
	c := *r
	c.allowed = r.allowedBy[kind]
	return &c
}

// errNotExist marks the errors of files and directories missing from the commit (errors.Is
// fs.ErrNotExist) and adds nothing to their message.
var errNotExist = silentError{fs.ErrNotExist}

type silentError struct{ err error }

func (silentError) Error() string   { return "" }
func (e silentError) Unwrap() error { return e.err }

// parseConfig reads werf-giterminism.yaml (name is its path, for errors): only the sections charts need, and the version,
// which must be 1 (a number or the string "1", as werf accepts it).
func parseConfig(name string, raw []byte) (Config, error) {
	var cfg Config
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return Config{}, fmt.Errorf("giterminism: %s: %s", name, strings.TrimPrefix(err.Error(), "error converting YAML to JSON: yaml: "))
	}
	switch v := cfg.GiterminismConfigVersion.(type) {
	case float64:
		if v == 1 {
			return cfg, nil
		}
	case string:
		if v == "1" {
			return cfg, nil
		}
	case nil:
		return Config{}, fmt.Errorf("giterminism: %s: giterminismConfigVersion is missing: set giterminismConfigVersion: 1", name)
	}
	got, _ := json.Marshal(cfg.GiterminismConfigVersion)
	return Config{}, fmt.Errorf("giterminism: %s: giterminismConfigVersion %s is not supported: only 1 is", name, got)
}

// globRegexp turns a glob with ** into an anchored regular expression.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// envPattern is the regular expression of an allowEnvVariables entry written /REGEX/.
func envPattern(entry string) (string, bool) {
	if len(entry) > 1 && strings.HasPrefix(entry, "/") && strings.HasSuffix(entry, "/") {
		return entry[1 : len(entry)-1], true
	}
	return "", false
}

// EnvAllowed reports whether werf.yaml may read the environment variable name: in strict
// mode only those werf-giterminism.yaml allows (config.goTemplateRendering.allowEnvVariables),
// as werf does; in --dev mode all.
func (r *Repo) EnvAllowed(name string) bool {
	if r.mode != ModeStrict {
		return true
	}
	for _, entry := range r.allowedEnv {
		if pattern, ok := envPattern(entry); ok {
			if re, err := regexp.Compile(pattern); err == nil && re.MatchString(name) {
				return true
			}
			continue
		}
		if entry == name {
			return true
		}
	}
	return false
}

// CommitTime is the author date of the commit files are read from, in its own time zone
// (werf's .Values.werf.commit.date).
func (r *Repo) CommitTime() time.Time { return r.commit.Author.When }

// HeadCommit returns the hash and author date of HEAD of the repository holding dir; ok is
// false outside a git repository or before the first commit.
func HeadCommit(dir string) (hash string, when time.Time, ok bool) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return "", time.Time{}, false
	}
	head, err := repo.Head()
	if err != nil {
		return "", time.Time{}, false
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return "", time.Time{}, false
	}
	return commit.Hash.String(), commit.Author.When, true
}

func (r *Repo) allowedUncommitted(rel string) bool {
	for _, re := range r.allowed {
		if re.MatchString(rel) {
			return true
		}
	}
	return false
}

// rel turns a path (absolute, or relative to the current directory) into a slash path
// relative to the repository root; it is an error for a path outside the repository.
func (r *Repo) rel(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(resolved, filepath.Base(abs))
	}
	rootResolved, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		rootResolved = r.root
	}
	rel, err := filepath.Rel(rootResolved, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("giterminism: %q is outside the git repository %s", p, r.root)
	}
	return filepath.ToSlash(rel), nil
}

// ChartFiles returns the files of the chart directory, keyed by their path in the chart.
func (r *Repo) ChartFiles(chartDir string) (map[string][]byte, error) {
	rel, err := r.rel(chartDir)
	if err != nil {
		return nil, err
	}
	if r.mode != ModeStrict {
		return r.worktreeFiles(rel)
	}
	if err := r.Check(chartDir); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	// A directory the commit lacks may still hold files the config allows uncommitted.
	if err := r.collect(rel, rel, files, 0); err != nil && (!errors.Is(err, fs.ErrNotExist) || len(r.allowed) == 0) {
		return nil, err
	}
	// Files the config allows to stay uncommitted come from the working tree.
	worktree, err := r.worktreeFiles(rel)
	if err != nil {
		return nil, err
	}
	for name, data := range worktree {
		if r.allowedUncommitted(path.Join(rel, name)) {
			files[name] = data
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("giterminism: the directory %q not found in commit %s%w", rel, r.Commit()[:12], errNotExist)
	}
	return files, nil
}

// collect adds the blobs below the tree path src to files under the chart-relative prefix
// of dst, resolving symlinks inside the commit.
func (r *Repo) collect(src, chartRoot string, files map[string][]byte, hops int) error {
	entry, err := r.tree.FindEntry(src)
	if err != nil {
		return fmt.Errorf("giterminism: %q not found in commit %s%w", src, r.Commit()[:12], errNotExist)
	}
	if entry.Mode != filemode.Dir {
		return r.addEntry(src, src, entry, chartRoot, files, hops)
	}
	sub, err := r.tree.Tree(src)
	if err != nil {
		return err
	}
	walker := object.NewTreeWalker(sub, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if err != nil {
			break
		}
		if e.Mode == filemode.Dir {
			continue
		}
		if err := r.addEntry(path.Join(src, name), path.Join(src, name), &e, chartRoot, files, hops); err != nil {
			return err
		}
	}
	return nil
}

// addEntry adds one tree entry found at repo path at; logical is where it appears in the
// chart (differs from at when reached through a symlinked directory).
func (r *Repo) addEntry(logical, at string, e *object.TreeEntry, chartRoot string, files map[string][]byte, hops int) error {
	name := strings.TrimPrefix(strings.TrimPrefix(logical, chartRoot), "/")
	switch e.Mode {
	case filemode.Submodule:
		return fmt.Errorf("giterminism: %q is a git submodule; charts cannot read submodules, vendor the files instead", at)
	case filemode.Symlink:
		if hops > 40 {
			return fmt.Errorf("giterminism: %q: too many levels of symbolic links", at)
		}
		blob, err := r.tree.File(at)
		if err != nil {
			return err
		}
		target, err := blob.Contents()
		if err != nil {
			return err
		}
		dest, ok := linkTarget(at, target)
		if !ok {
			return fmt.Errorf("giterminism: the symlink %q points outside the repository (%s)", at, target)
		}
		// The target is judged where it stands in the work tree, so that a link to the
		// --secret-key-file under another name is refused in the commit too.
		if why := ForbiddenLinkTarget(r.realRoot(), filepath.Join(r.realRoot(), filepath.FromSlash(dest))); why != "" {
			return fmt.Errorf("giterminism: the symlink %q leads to %s (%s): charts may not read it, remove the link", at, why, target)
		}
		te, err := r.tree.FindEntry(dest)
		if err != nil {
			return fmt.Errorf("giterminism: the symlink %q points to %q, which is not in commit %s", at, dest, r.Commit()[:12])
		}
		if te.Mode == filemode.Dir {
			sub := map[string][]byte{}
			if err := r.collect(dest, dest, sub, hops+1); err != nil {
				return err
			}
			for n, d := range sub {
				files[path.Join(name, n)] = d
			}
			return nil
		}
		return r.addEntry(logical, dest, te, chartRoot, files, hops+1)
	default:
		blob, err := r.tree.File(at)
		if err != nil {
			return err
		}
		data, err := blob.Contents()
		if err != nil {
			return err
		}
		files[name] = []byte(data)
		return nil
	}
}

// File returns a file named on the command line (--values, --set-file, ...): from the
// commit in strict mode (after checking it is committed), from the working tree otherwise.
func (r *Repo) File(p string) ([]byte, error) {
	if r.mode != ModeStrict {
		return os.ReadFile(p)
	}
	rel, err := r.rel(p)
	if err != nil {
		return nil, err
	}
	if r.allowedUncommitted(rel) {
		return os.ReadFile(p)
	}
	if err := r.Check(p); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if err := r.collect(rel, rel, files, 0); err != nil {
		return nil, err
	}
	return files[""], nil
}

// Check refuses uncommitted changes under the given paths (files or directories): modified
// or deleted committed files and untracked files that git does not ignore. Files allowed by
// the config are skipped.
func (r *Repo) Check(paths ...string) error {
	if r.mode != ModeStrict || !r.checkWorktree {
		return nil
	}
	var problems []string
	for _, p := range paths {
		rel, err := r.rel(p)
		if err != nil {
			return err
		}
		found, err := r.dirty(rel)
		if err != nil {
			return err
		}
		problems = append(problems, found...)
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("giterminism: commit these files first, or pass --dev to use the working tree: %s", strings.Join(problems, ", "))
}

func (r *Repo) dirty(rel string) ([]string, error) {
	var problems []string
	committed := map[string]bool{}
	entry, err := r.tree.FindEntry(rel)
	switch {
	case err != nil:
		// Not in the commit at all: everything in the working tree there is untracked.
	case entry.Mode == filemode.Dir:
		sub, err := r.tree.Tree(rel)
		if err != nil {
			return nil, err
		}
		walker := object.NewTreeWalker(sub, true, nil)
		for {
			name, e, err := walker.Next()
			if err != nil {
				break
			}
			if e.Mode != filemode.Dir {
				p := path.Join(rel, name)
				committed[p] = true
				if msg := r.compare(p, e); msg != "" {
					problems = append(problems, msg)
				}
			}
		}
		walker.Close()
	default:
		committed[rel] = true
		if msg := r.compare(rel, *entry); msg != "" {
			problems = append(problems, msg)
		}
	}
	untracked, err := r.untracked(rel, committed)
	return append(problems, untracked...), err
}

// compare reports how the working tree copy of a committed entry differs, "" when it does not.
func (r *Repo) compare(rel string, e object.TreeEntry) string {
	if r.allowedUncommitted(rel) {
		return ""
	}
	full := filepath.Join(r.root, filepath.FromSlash(rel))
	var data []byte
	var err error
	if e.Mode == filemode.Symlink {
		var target string
		target, err = os.Readlink(full)
		data = []byte(target)
	} else {
		data, err = os.ReadFile(full)
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("%q (deleted)", rel)
	}
	if err != nil {
		return fmt.Sprintf("%q (%v)", rel, err)
	}
	if e.Mode == filemode.Submodule {
		return ""
	}
	if plumbing.ComputeHash(plumbing.BlobObject, data) != e.Hash {
		return fmt.Sprintf("%q (modified)", rel)
	}
	return ""
}

// untracked lists files under rel in the working tree that are neither committed nor ignored.
func (r *Repo) untracked(rel string, committed map[string]bool) ([]string, error) {
	matcher, err := r.ignoreMatcher(rel)
	if err != nil {
		return nil, err
	}
	var out []string
	start := filepath.Join(r.root, filepath.FromSlash(rel))
	err = filepath.WalkDir(start, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		relPath, _ := filepath.Rel(r.root, p)
		relPath = filepath.ToSlash(relPath)
		parts := strings.Split(relPath, "/")
		if d.IsDir() {
			if d.Name() == ".git" || (relPath != rel && matcher.Match(parts, true)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !committed[relPath] && !matcher.Match(parts, false) && !r.allowedUncommitted(relPath) {
			out = append(out, fmt.Sprintf("%q (untracked)", relPath))
		}
		return nil
	})
	return out, err
}

// ignoreMatcher reads .gitignore files of the root, of every directory down to rel, and
// below rel, plus .git/info/exclude: never the whole repository.
func (r *Repo) ignoreMatcher(rel string) (gitignore.Matcher, error) {
	var patterns []gitignore.Pattern
	if data, err := os.ReadFile(filepath.Join(r.root, ".git", "info", "exclude")); err == nil {
		patterns = append(patterns, parsePatterns(string(data), nil)...)
	}
	parts := strings.Split(rel, "/")
	// The root's and every ancestor's .gitignore; the chart directory's own and those
	// below it are read by the walk that follows.
	for i := 0; i < len(parts); i++ {
		dir := parts[:i]
		data, err := os.ReadFile(filepath.Join(append([]string{r.root}, append(dir, ".gitignore")...)...))
		if err == nil {
			patterns = append(patterns, parsePatterns(string(data), dir)...)
		}
	}
	start := filepath.Join(r.root, filepath.FromSlash(rel))
	err := filepath.WalkDir(start, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		data, err := os.ReadFile(filepath.Join(p, ".gitignore"))
		if err != nil {
			return nil
		}
		dirRel, _ := filepath.Rel(r.root, p)
		patterns = append(patterns, parsePatterns(string(data), strings.Split(filepath.ToSlash(dirRel), "/"))...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return gitignore.NewMatcher(patterns), nil
}

func parsePatterns(data string, domain []string) []gitignore.Pattern {
	var out []gitignore.Pattern
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, gitignore.ParsePattern(line, domain))
	}
	return out
}

// worktreeFiles reads the chart directory from the file system, skipping ignored files.
func (r *Repo) worktreeFiles(rel string) (map[string][]byte, error) {
	matcher, err := r.ignoreMatcher(rel)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	start := filepath.Join(r.root, filepath.FromSlash(rel))
	err = filepath.WalkDir(start, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relPath, _ := filepath.Rel(r.root, p)
		parts := strings.Split(filepath.ToSlash(relPath), "/")
		if d.IsDir() {
			if d.Name() == ".git" || (p != start && matcher.Match(parts, true)) {
				return filepath.SkipDir
			}
			return nil
		}
		if r.mode == ModeDev && matcher.Match(parts, false) {
			return nil
		}
		name, _ := filepath.Rel(start, p)
		if d.Type()&fs.ModeSymlink != 0 {
			return r.addWorktreeLink(p, filepath.ToSlash(name), files, 0)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(name)] = data
		return nil
	})
	return files, err
}

// linkTarget resolves a symlink at the repository path at (slash-separated, relative to
// the root) to target; ok is false when the link leaves the repository.
func linkTarget(at, target string) (dest string, ok bool) {
	if path.IsAbs(target) || strings.HasPrefix(target, "\\") || filepath.IsAbs(target) {
		return "", false
	}
	dest = path.Clean(path.Join(path.Dir(at), filepath.ToSlash(target)))
	if path.IsAbs(dest) || dest == ".." || strings.HasPrefix(dest, "../") {
		return "", false
	}
	return dest, true
}

// refuseLinkTarget refuses the file or directory resolved that the symlink p (rel in the
// repository) leads to: into .git/, to a secret key file, or with --dev to an ignored file.
// matcher holds the ignore rules for resolved (nil: read them).
func (r *Repo) refuseLinkTarget(rel, p, root, resolved string, isDir bool, matcher gitignore.Matcher) error {
	why := ForbiddenLinkTarget(root, resolved)
	if why == "" && r.mode == ModeDev {
		target, _ := filepath.Rel(root, resolved)
		target = filepath.ToSlash(target)
		if matcher == nil {
			var err error
			if matcher, err = r.ignoreMatcher(path.Dir(target)); err != nil {
				return err
			}
		}
		if matcher.Match(strings.Split(target, "/"), isDir) {
			why = "a file git ignores"
		}
	}
	if why == "" {
		return nil
	}
	link, _ := os.Readlink(p)
	return fmt.Errorf("giterminism: the symlink %q leads to %s (%s): charts may not read it, remove the link", filepath.ToSlash(rel), why, link)
}

// addWorktreeLink reads what the working-tree symlink p (chart file name) points to, as the
// commit would: only inside the repository, directories included.
func (r *Repo) addWorktreeLink(p, name string, files map[string][]byte, hops int) error {
	rel, err := filepath.Rel(r.root, p)
	if err != nil {
		return err
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("giterminism: the symlink %q: %w", filepath.ToSlash(rel), err)
	}
	root, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		return err
	}
	inside, err := filepath.Rel(root, resolved)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
		target, _ := os.Readlink(p)
		return fmt.Errorf("giterminism: the symlink %q points outside the repository (%s)", filepath.ToSlash(rel), target)
	}
	info, err := os.Stat(resolved)
	if err != nil {
		return err
	}
	if err := r.refuseLinkTarget(rel, p, root, resolved, info.IsDir(), nil); err != nil {
		return err
	}
	if !info.IsDir() {
		data, err := os.ReadFile(resolved)
		if err != nil {
			return err
		}
		files[name] = data
		return nil
	}
	if hops > 40 {
		return fmt.Errorf("giterminism: %q: too many levels of symbolic links", filepath.ToSlash(rel))
	}
	// One set of ignore rules for the whole linked directory (its own and its ancestors').
	var matcher gitignore.Matcher
	if r.mode == ModeDev {
		dir, _ := filepath.Rel(root, resolved)
		if matcher, err = r.ignoreMatcher(filepath.ToSlash(dir)); err != nil {
			return err
		}
	}
	return filepath.WalkDir(resolved, func(q string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sub, _ := filepath.Rel(resolved, q)
		subName := path.Join(name, filepath.ToSlash(sub))
		if d.Type()&fs.ModeSymlink != 0 {
			return r.addWorktreeLink(q, subName, files, hops+1)
		}
		if err := r.refuseLinkTarget(rel, p, root, q, false, matcher); err != nil {
			return err
		}
		data, err := os.ReadFile(q)
		if err != nil {
			return err
		}
		files[subName] = data
		return nil
	})
}
