package charts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/helmpath"
	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// DependencyOptions say how to resolve chart dependencies.
type DependencyOptions struct {
	// Out receives Helm's download progress.
	Out io.Writer
	// PlainHTTP talks to oci:// registries over HTTP instead of HTTPS, and allows http://
	// chart repositories (refused otherwise).
	PlainHTTP bool
	// Offline refuses downloads: a dependency missing from charts/ and from the cache is an
	// error naming it.
	Offline bool
	// CacheDir holds downloaded dependencies, keyed by repository, name and version; empty:
	// DependencyCacheDir().
	CacheDir string
}

// ChartLoader loads the chart directory dir (a path as the user wrote it, or one a
// file:// dependency names): from the filesystem, or from a git commit.
type ChartLoader func(dir string) (*Chart, error)

// DependencyCacheDir is where downloaded dependencies are kept: never in the user's work
// tree, so that a later run in git mode finds nothing uncommitted.
func DependencyCacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		if home, err := os.UserHomeDir(); err == nil {
			base = filepath.Join(home, ".cache")
		} else {
			base = os.TempDir()
		}
	}
	return filepath.Join(base, "kubectl-converge", "dependencies")
}

// LoadChartTree loads the chart at dir with load and every dependency its Chart.yaml
// declares: from charts/ as loaded, file:// paths through load (so from the same commit in
// git mode), repository URLs and oci:// from the cache or downloaded into it. It writes
// nothing into dir. A chart is loaded whole or not at all: a declared dependency that cannot
// be found, or whose version does not match, is an error naming it.
func LoadChartTree(dir string, load ChartLoader, opts DependencyOptions) (*Chart, error) {
	ch, err := load(dir)
	if err != nil {
		return nil, err
	}
	if err := resolveDependencies(ch.chart, dir, load, opts, 0); err != nil {
		return nil, err
	}
	return ch, nil
}

// CheckDependencies reports the first declared dependency the chart (or a subchart) does not
// carry: a packaged chart is deployed as packaged, never resolved anew.
func CheckDependencies(ch *Chart) error {
	return checkCarried(ch.chart)
}

func checkCarried(c *chart.Chart) error {
	if c.Metadata == nil {
		return nil
	}
	for _, dep := range c.Metadata.Dependencies {
		if dep != nil && findDependency(c, dep) == nil {
			return missingDependencyError(c, dep)
		}
	}
	for _, sub := range c.Dependencies() {
		if err := checkCarried(sub); err != nil {
			return err
		}
	}
	return nil
}

// maxDependencyDepth stops file:// dependencies that point at each other.
const maxDependencyDepth = 10

func resolveDependencies(c *chart.Chart, dir string, load ChartLoader, opts DependencyOptions, depth int) error {
	if c.Metadata == nil || len(c.Metadata.Dependencies) == 0 {
		return nil
	}
	if depth > maxDependencyDepth {
		return fmt.Errorf("chart %q: dependencies nested more than %d deep (do two file:// dependencies point at each other?)", c.Name(), maxDependencyDepth)
	}
	var remote []*chart.Dependency
	for _, dep := range c.Metadata.Dependencies {
		if dep == nil || findDependency(c, dep) != nil {
			continue
		}
		if rel, ok := strings.CutPrefix(dep.Repository, "file://"); ok {
			sub, err := load(filepath.Join(dir, rel))
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("chart %q: dependency %q (%s): there is no chart at %s: fix the repository path in Chart.yaml, or put the chart there", c.Name(), dep.Name, dep.Repository, filepath.Join(dir, rel))
			}
			if err != nil {
				return fmt.Errorf("chart %q: dependency %q (%s): %w", c.Name(), dep.Name, dep.Repository, err)
			}
			if err := resolveDependencies(sub.chart, filepath.Join(dir, rel), load, opts, depth+1); err != nil {
				return err
			}
			c.AddDependency(sub.chart)
			continue
		}
		if dep.Repository != "" {
			remote = append(remote, dep)
		}
	}
	if len(remote) > 0 {
		if err := addRemoteDependencies(c, dir, remote, opts); err != nil {
			return err
		}
	}
	for _, dep := range c.Metadata.Dependencies {
		if dep != nil && findDependency(c, dep) == nil {
			return missingDependencyError(c, dep)
		}
	}
	return nil
}

// findDependency is the loaded chart that satisfies dep as Helm would pick it when rendering
// (same name, version in the range); Helm drops a dependency it cannot match without a word.
func findDependency(c *chart.Chart, dep *chart.Dependency) *chart.Chart {
	for _, sub := range c.Dependencies() {
		if sub.Name() == dep.Name && versionMatches(dep.Version, sub.Metadata.Version) {
			return sub
		}
	}
	return nil
}

func versionMatches(constraint, version string) bool {
	if constraint == "" {
		return true
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return constraint == version
	}
	v, err := semver.NewVersion(version)
	return err == nil && c.Check(v)
}

func missingDependencyError(c *chart.Chart, dep *chart.Dependency) error {
	want := dep.Name
	if dep.Version != "" {
		want += " " + dep.Version
	}
	for _, sub := range c.Dependencies() {
		if sub.Name() == dep.Name {
			return fmt.Errorf("chart %q: dependency %q: charts/ holds %s %s, which does not match the version %q in Chart.yaml; run helm dependency update, or fix the version", c.Name(), dep.Name, sub.Name(), sub.Metadata.Version, dep.Version)
		}
	}
	return fmt.Errorf("chart %q: dependency %s (%s) is missing: add it to charts/ or run helm dependency update", c.Name(), want, dep.Repository)
}

// lockedVersions reads Chart.lock, when the chart has one, checks it is in sync with
// Chart.yaml (the digest Helm writes, or the one werf and nelm write) and returns the locked
// version of each dependency.
func lockedVersions(c *chart.Chart) (map[string]string, error) {
	if c.Lock == nil {
		return nil, nil
	}
	if c.Lock.Digest != "" {
		helm, err := hashDependencies(c.Metadata.Dependencies, c.Lock.Dependencies)
		if err != nil {
			return nil, err
		}
		werf, err := werfHashDependencies(c)
		if err != nil {
			return nil, err
		}
		if c.Lock.Digest != helm && c.Lock.Digest != werf {
			return nil, fmt.Errorf("chart %q: Chart.lock is out of sync with the dependencies in Chart.yaml: run helm dependency update and commit Chart.lock", c.Name())
		}
	}
	out := map[string]string{}
	for _, d := range c.Lock.Dependencies {
		out[d.Name+"|"+d.Repository] = d.Version
	}
	return out, nil
}

// hashDependencies is Helm's Chart.lock digest of the declared and the locked dependencies.
func hashDependencies(req, lock []*chart.Dependency) (string, error) {
	data, err := json.Marshal([2][]*chart.Dependency{req, lock})
	if err != nil {
		return "", err
	}
	s, err := provenance.Digest(bytes.NewBuffer(data))
	return "sha256:" + s, err
}

// werfHashDependencies is the Chart.lock digest werf and nelm write: Helm's, with each
// declared dependency's export-values in it (nelm's chart.Dependency has the field, last,
// so its JSON is Helm's with "export-values" appended when there are any; nelm
// pkg/helm/intern/resolver HashReq).
func werfHashDependencies(c *chart.Chart) (string, error) {
	exports := rawExportValues(c)
	var req []json.RawMessage // nil when Helm's is, so that both marshal alike
	if c.Metadata.Dependencies != nil {
		req = make([]json.RawMessage, 0, len(c.Metadata.Dependencies))
	}
	for i, d := range c.Metadata.Dependencies {
		data, err := json.Marshal(d)
		if err != nil {
			return "", err
		}
		if exports != nil && len(exports[i]) > 0 && d != nil {
			items, err := json.Marshal(exports[i])
			if err != nil {
				return "", err
			}
			data = append(append(append(data[:len(data)-1:len(data)-1], `,"export-values":`...), items...), '}')
		}
		req = append(req, data)
	}
	data, err := json.Marshal([2]any{req, c.Lock.Dependencies})
	if err != nil {
		return "", err
	}
	s, err := provenance.Digest(bytes.NewBuffer(data))
	return "sha256:" + s, err
}

// addRemoteDependencies loads the repository and oci:// dependencies of c from the cache,
// downloading what is not there (at the Chart.lock version when there is one) into it.
func addRemoteDependencies(c *chart.Chart, dir string, deps []*chart.Dependency, opts DependencyOptions) error {
	locked, err := lockedVersions(c)
	if err != nil {
		return err
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		cacheDir = DependencyCacheDir()
	}
	var fetch []*chart.Dependency
	added := map[string]bool{}
	for _, dep := range deps {
		version := dep.Version
		if v, ok := locked[dep.Name+"|"+dep.Repository]; ok {
			version = v
		}
		if _, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v")); err == nil {
			sub, err := loadCached(cachePath(cacheDir, dep.Repository, dep.Name, version), indexedDigest(dep, version))
			if errors.Is(err, errCacheTampered) || errors.Is(err, errCacheNotIndexed) {
				if opts.Offline {
					return fmt.Errorf("chart %q: cached dependency %q %s (%s) %w: delete it, or allow downloads to fetch it again", c.Name(), dep.Name, version, dep.Repository, err)
				}
				if opts.Out != nil {
					fmt.Fprintf(opts.Out, "dependency %q %s from %s: the cached archive %v; downloading it again\n", dep.Name, version, dep.Repository, err)
				}
			}
			if err == nil {
				if key := sub.Name() + "@" + sub.Metadata.Version; !added[key] {
					added[key] = true
					c.AddDependency(sub)
				}
				continue
			}
		}
		pinned := *dep
		pinned.Version, pinned.Alias, pinned.Condition, pinned.Tags, pinned.ImportValues = version, "", "", nil, nil
		fetch = append(fetch, &pinned)
	}
	if len(fetch) == 0 {
		return nil
	}
	if opts.Offline {
		return missingDependencyError(c, fetch[0])
	}
	repos, _ := repo.LoadFile(cli.New().RepositoryConfig)
	for _, dep := range fetch {
		url := repositoryURL(repos, dep.Repository)
		if strings.HasPrefix(strings.ToLower(url), "http://") && !opts.PlainHTTP {
			from := url
			if url != dep.Repository {
				from = fmt.Sprintf("%s (%s in Helm's repositories file)", url, dep.Repository)
			}
			return fmt.Errorf("chart %q: dependency %q comes from %s over plain HTTP, which anyone on the way can change: use https, or pass --plain-http to allow it", c.Name(), dep.Name, from)
		}
	}
	fetched, err := download(c.Name(), fetch, opts)
	if err != nil {
		return err
	}
	for _, dep := range fetch {
		for _, d := range fetched {
			sub := d.chart
			if sub.Name() != dep.Name || !versionMatches(dep.Version, sub.Metadata.Version) {
				continue
			}
			if err := keepInCache(d.archive, cachePath(cacheDir, dep.Repository, dep.Name, sub.Metadata.Version)); err != nil {
				return fmt.Errorf("chart %q: keep dependency %q in the cache: %w", c.Name(), dep.Name, err)
			}
			if key := sub.Name() + "@" + sub.Metadata.Version; !added[key] {
				added[key] = true
				c.AddDependency(sub)
			}
			break
		}
	}
	return nil
}

func cachePath(cacheDir, repository, name, version string) string {
	sum := sha256.Sum256([]byte(repository + "\n" + name + "\n" + version))
	return filepath.Join(cacheDir, hex.EncodeToString(sum[:16])+"-"+name+"-"+version+".tgz")
}

// keepInCache writes the archive to the cache with the SHA-256 it had when downloaded beside
// it (to + ".sha256"), which loadCached checks before every use.
func keepInCache(data []byte, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	for _, f := range []struct {
		path string
		data []byte
	}{{to + ".sha256", []byte(hex.EncodeToString(sum[:]) + "\n")}, {to, data}} {
		tmp := f.path + ".part"
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, f.path); err != nil {
			return err
		}
	}
	return nil
}

var (
	// errCacheTampered is a cached archive whose SHA-256 is not the one recorded when it
	// was downloaded (or has none recorded).
	errCacheTampered = errors.New("does not match the SHA-256 recorded when it was downloaded")
	// errCacheNotIndexed is a cached archive whose SHA-256 is not the digest its repository's
	// index gives it: the record beside it was rewritten with it.
	errCacheNotIndexed = errors.New("does not match the SHA-256 its repository's index gives it")
)

// loadCached loads a cached dependency archive after checking it against its recorded
// SHA-256 and, when known (indexed, from indexedDigest), the digest its repository's index
// gives it, which the cache cannot rewrite; a missing archive is an fs.ErrNotExist error.
func loadCached(path, indexed string) (*chart.Chart, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recorded, err := os.ReadFile(path + ".sha256")
	sum := sha256.Sum256(data)
	if err != nil || strings.TrimSpace(string(recorded)) != hex.EncodeToString(sum[:]) {
		return nil, errCacheTampered
	}
	if indexed != "" && indexed != hex.EncodeToString(sum[:]) {
		return nil, errCacheNotIndexed
	}
	return loader.LoadArchive(bytes.NewReader(data))
}

// indexedDigest is the SHA-256 (hex) that the index of dep's repository gives dep at
// version, as Helm keeps the index in its repository cache (helm repo update, or the last
// download of a dependency from that repository); "" when no index there has it (an oci://
// dependency, a repository never indexed here).
func indexedDigest(dep *chart.Dependency, version string) string {
	settings := cli.New()
	f, _ := repo.LoadFile(settings.RepositoryConfig)
	url := strings.TrimSuffix(repositoryURL(f, dep.Repository), "/")
	var names []string
	if f != nil {
		for _, e := range f.Repositories {
			if strings.TrimSuffix(e.URL, "/") == url {
				names = append(names, e.Name)
			}
		}
	}
	if strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://") {
		names = append(names, dependencyRepositoryName(url))
	}
	for _, name := range names {
		idx, err := repo.LoadIndexFile(filepath.Join(settings.RepositoryCache, helmpath.CacheIndexFile(name)))
		if err != nil {
			continue
		}
		if cv, err := idx.Get(dep.Name, version); err == nil && cv.Digest != "" {
			return strings.TrimPrefix(cv.Digest, "sha256:")
		}
	}
	return ""
}

// dependencyRepositoryName is the name of the repository entry added for a dependency
// repository URL missing from Helm's repositories file (repositoriesWithDependencyURLs),
// under which Helm's downloader caches its index.
func dependencyRepositoryName(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "converge-" + hex.EncodeToString(sum[:6])
}

// downloaded is one dependency archive fetched, loaded.
type downloaded struct {
	chart   *chart.Chart
	archive []byte
}

// download fetches deps with Helm's dependency manager into a scratch chart outside the work
// tree, and returns the archives it wrote.
func download(parent string, deps []*chart.Dependency, opts DependencyOptions) ([]downloaded, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	scratch, err := os.MkdirTemp("", "converge-deps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	meta := map[string]any{"apiVersion": "v2", "name": "dependencies-of-" + parent, "version": "0.0.0", "dependencies": deps}
	data, err := yaml.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(scratch, "Chart.yaml"), data, 0o644); err != nil {
		return nil, err
	}
	settings := cli.New()
	clientOpts := []registry.ClientOption{registry.ClientOptWriter(out), registry.ClientOptCredentialsFile(settings.RegistryConfig)}
	if opts.PlainHTTP {
		clientOpts = append(clientOpts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(clientOpts...)
	if err != nil {
		return nil, err
	}
	repoConfig, cleanup, err := repositoriesWithDependencyURLs(settings.RepositoryConfig, deps)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var progress bytes.Buffer
	man := &downloader.Manager{
		Out:              io.MultiWriter(&progress, quiet(out)),
		ChartPath:        scratch,
		Getters:          getter.All(settings),
		RegistryClient:   rc,
		RepositoryConfig: repoConfig,
		RepositoryCache:  settings.RepositoryCache,
	}
	if err := man.Update(); err != nil {
		names := make([]string, 0, len(deps))
		for _, d := range deps {
			names = append(names, fmt.Sprintf("%q %s from %s", d.Name, d.Version, d.Repository))
		}
		cause := err.Error()
		// Helm prints why a repository index could not be read and then fails on the
		// missing cache file; the printed reason is the one that helps.
		for _, line := range strings.Split(progress.String(), "\n") {
			if strings.Contains(line, "dial tcp") || strings.Contains(line, "failed to fetch") || strings.Contains(line, "404") {
				cause = strings.TrimSpace(line)
			}
		}
		return nil, fmt.Errorf("chart %q: dependency %s is neither in charts/ nor in the cache, and cannot be downloaded: %s; check that the repository is reachable and has that version", parent, strings.Join(names, ", "), cause)
	}
	archives, err := filepath.Glob(filepath.Join(scratch, "charts", "*.tgz"))
	if err != nil {
		return nil, err
	}
	digests := indexDigests(repoConfig, settings.RepositoryCache, deps)
	var out2 []downloaded
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			return nil, err
		}
		ch, err := loader.LoadArchive(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("chart %q: dependency archive %s: %w", parent, filepath.Base(a), err)
		}
		sum := sha256.Sum256(data)
		if want, ok := digests[ch.Name()+"@"+ch.Metadata.Version]; ok && want != hex.EncodeToString(sum[:]) {
			return nil, fmt.Errorf("chart %q: dependency %q %s as downloaded has SHA-256 %x, its repository's index says %s: refused (it was changed on the way or in the repository)", parent, ch.Name(), ch.Metadata.Version, sum, want)
		}
		out2 = append(out2, downloaded{chart: ch, archive: data})
	}
	return out2, nil
}

// indexDigests are the archive digests that the repository indexes Helm has just fetched
// give the dependencies from chart repositories, by NAME@VERSION.
func indexDigests(repoConfig, cache string, deps []*chart.Dependency) map[string]string {
	f, err := repo.LoadFile(repoConfig)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, d := range deps {
		for _, e := range f.Repositories {
			if strings.TrimSuffix(e.URL, "/") != strings.TrimSuffix(repositoryURL(f, d.Repository), "/") {
				continue
			}
			idx, err := repo.LoadIndexFile(filepath.Join(cache, helmpath.CacheIndexFile(e.Name)))
			if err != nil {
				continue
			}
			if cv, err := idx.Get(d.Name, d.Version); err == nil && cv.Digest != "" {
				out[d.Name+"@"+cv.Version] = strings.TrimPrefix(cv.Digest, "sha256:")
			}
		}
	}
	return out
}

// repositoryURL is the URL a dependency's repository names: "@NAME" and "alias:NAME" are
// looked up in Helm's repositories file f (as Helm's downloader does), anything else is
// itself; an alias not in f stays as written.
func repositoryURL(f *repo.File, repository string) string {
	name, ok := strings.CutPrefix(repository, "@")
	if !ok {
		name, ok = strings.CutPrefix(repository, "alias:")
	}
	if !ok || f == nil {
		return repository
	}
	if e := f.Get(name); e != nil {
		return e.URL
	}
	return repository
}

// quiet drops Helm's cheerful lines ("Hang tight...", "Happy Helming!") and keeps the rest.
func quiet(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		for _, line := range strings.SplitAfter(string(p), "\n") {
			if line == "" || strings.Contains(line, "Hang tight") || strings.Contains(line, "Happy Helming") || strings.Contains(line, "Unable to get an update") || strings.HasPrefix(strings.TrimSpace(line), "Get \"") {
				continue
			}
			if _, err := io.WriteString(w, line); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// repositoriesWithDependencyURLs writes a temporary copy of Helm's repositories file with an
// entry for every http(s) dependency repository that is not in it, so that charts whose
// dependencies name repository URLs build without "helm repo add" first (as werf does).
func repositoriesWithDependencyURLs(configured string, deps []*chart.Dependency) (string, func(), error) {
	f, err := repo.LoadFile(configured)
	if err != nil {
		f = repo.NewFile()
	}
	added := false
	for _, d := range deps {
		u := strings.TrimSuffix(d.Repository, "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			continue
		}
		known := false
		for _, e := range f.Repositories {
			known = known || strings.TrimSuffix(e.URL, "/") == u
		}
		if !known {
			f.Add(&repo.Entry{Name: dependencyRepositoryName(u), URL: u})
			added = true
		}
	}
	if !added {
		return configured, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "converge-repositories-")
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "repositories.yaml")
	if err := f.WriteFile(path, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return path, func() { os.RemoveAll(dir) }, nil
}
