package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/repo"

	"github.com/kubectl-converge/converge/shared/testutil"
)

func writeChart(t *testing.T, dir, chartYAML string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadChartTree: a chart is loaded whole (every declared dependency found) or not at all,
// and loading writes nothing into the chart directory.
func TestLoadChartTree(t *testing.T) {
	tests := []struct {
		name     string
		parent   string
		subs     map[string]string // directory -> Chart.yaml
		wantDeps []string
		wantErr  string
		// online allows downloads; plainHTTP is --plain-http.
		online, plainHTTP bool
	}{
		{
			name:     "file dependency read through the loader",
			parent:   "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, version: ~0.2.0, repository: file://../sub}\n",
			subs:     map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.3\n"},
			wantDeps: []string{"sub"},
		},
		{
			name:     "nested file dependencies",
			parent:   "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, repository: file://../sub}\n",
			subs:     map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.0\ndependencies:\n- {name: lib, repository: file://../lib}\n", "lib": "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n"},
			wantDeps: []string{"sub"},
		},
		{
			name:    "version out of range is refused, not dropped",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: sub, version: ^1.0.0, repository: file://../sub}\n",
			subs:    map[string]string{"sub": "apiVersion: v2\nname: sub\nversion: 0.2.0\n"},
			wantErr: `dependency "sub": charts/ holds sub 0.2.0, which does not match the version "^1.0.0"`,
		},
		{
			name:    "missing file dependency",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: gone, repository: file://../gone}\n",
			wantErr: `chart "app": dependency "gone" (file://../gone)`,
		},
		{
			name:    "repository dependency offline and not cached",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: https://charts.example.com}\n",
			wantErr: `chart "app": dependency redis 1.2.3 (https://charts.example.com) is missing`,
		},
		{
			name:    "plain-http repository refused",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: http://127.0.0.1:1/charts}\n",
			online:  true,
			wantErr: `chart "app": dependency "redis" comes from http://127.0.0.1:1/charts over plain HTTP, which anyone on the way can change: use https, or pass --plain-http to allow it`,
		},
		{
			name:      "plain-http repository allowed by --plain-http",
			parent:    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: http://127.0.0.1:1/charts}\n",
			online:    true,
			plainHTTP: true,
			wantErr:   `chart "app": dependency "redis" 1.2.3 from http://127.0.0.1:1/charts is neither in charts/ nor in the cache, and cannot be downloaded`,
		},
		{
			name:    "file dependencies pointing at each other",
			parent:  "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: a, repository: file://../a}\n",
			subs:    map[string]string{"a": "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- {name: b, repository: file://../b}\n", "b": "apiVersion: v2\nname: b\nversion: 1.0.0\ndependencies:\n- {name: a, repository: file://../a}\n"},
			wantErr: "nested more than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeChart(t, filepath.Join(root, "app"), tt.parent)
			for dir, meta := range tt.subs {
				writeChart(t, filepath.Join(root, dir), meta)
			}
			ch, err := LoadChartTree(filepath.Join(root, "app"), LoadChart, DependencyOptions{Offline: !tt.online, PlainHTTP: tt.plainHTTP, CacheDir: t.TempDir()})
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			var got []string
			for _, d := range ch.chart.Dependencies() {
				got = append(got, d.Name())
			}
			if strings.Join(got, ",") != strings.Join(tt.wantDeps, ",") {
				t.Fatalf("dependencies %v, want %v", got, tt.wantDeps)
			}
			entries, _ := os.ReadDir(filepath.Join(root, "app"))
			for _, e := range entries {
				if e.Name() != "Chart.yaml" && e.Name() != "templates" {
					t.Fatalf("loading wrote %s into the chart directory", e.Name())
				}
			}
		})
	}
}

// TestChartLockDigest: a Chart.lock is in sync whether Helm wrote it (its digest leaves
// export-values out) or werf/nelm did (theirs has them). The werf digest below was computed
// with werf 1.2's own chart types (werf/3p-helm, whose Dependency has ExportValues) by
// resolver.HashReq's body, json.Marshal([2][]*chart.Dependency{req, lock}); the same program
// reproduces the digest werf committed in werf/werf's
// test/e2e/converge/_fixtures/complex/state0/.helm/requirements.lock. Both digests are the
// SHA-256 of the JSON written out here.
func TestChartLockDigest(t *testing.T) {
	const chartYAML = `apiVersion: v2
name: app
version: 1.0.0
dependencies:
- name: sub
  version: ~0.2.0
  repository: file://../sub
  export-values:
  - {parent: werf, child: werf}
  - shared
- name: metrics
  version: 0.9.1
  repository: https://charts.example.com
  alias: m
  condition: m.enabled
`
	const werfJSON = `[[{"name":"sub","version":"~0.2.0","repository":"file://../sub","export-values":[{"child":"werf","parent":"werf"},"shared"]},` +
		`{"name":"metrics","version":"0.9.1","repository":"https://charts.example.com","condition":"m.enabled","alias":"m"}],` +
		`[{"name":"sub","version":"0.2.0","repository":"file://../sub"},{"name":"metrics","version":"0.9.1","repository":"https://charts.example.com"}]]`
	helmJSON := strings.Replace(werfJSON, `,"export-values":[{"child":"werf","parent":"werf"},"shared"]`, "", 1)
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(h[:]) }
	const werfDigest = "sha256:32edc8dfecc9460bacc384297d7263c9b38ab4fbee5b7173ba749a68f55dbd24"
	const helmDigest = "sha256:a16dc031f6fe844e0b94d6d8def9966fc76752286fcd0f1d984d28d9a1b9e198"
	if sum(werfJSON) != werfDigest || sum(helmJSON) != helmDigest {
		t.Fatalf("the written-out JSON does not hash to the digests: %s %s", sum(werfJSON), sum(helmJSON))
	}
	tests := []struct {
		name    string
		digest  string
		wantErr string
	}{
		{name: "written by werf or nelm", digest: werfDigest},
		{name: "written by helm", digest: helmDigest},
		{name: "no digest", digest: ""},
		{name: "out of sync", digest: sum(helmJSON + " "), wantErr: `chart "app": Chart.lock is out of sync with the dependencies in Chart.yaml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock := "dependencies:\n- {name: sub, repository: file://../sub, version: 0.2.0}\n" +
				"- {name: metrics, repository: https://charts.example.com, version: 0.9.1}\n" +
				"digest: " + tt.digest + "\ngenerated: \"2026-01-01T00:00:00Z\"\n"
			ch, err := LoadChartFiles("app", map[string][]byte{"Chart.yaml": []byte(chartYAML), "Chart.lock": []byte(lock)})
			if err != nil {
				t.Fatal(err)
			}
			locked, err := lockedVersions(ch.Helm())
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			if locked["metrics|https://charts.example.com"] != "0.9.1" {
				t.Fatalf("locked versions %v", locked)
			}
		})
	}
}

// packagedChart writes a chart with chartYAML into dir and returns its archive.
func packagedChart(t *testing.T, dir, chartYAML string) []byte {
	t.Helper()
	writeChart(t, dir, chartYAML)
	ch, err := LoadChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ch.Archive()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCachedDependencyIsVerified: a cached dependency archive is used only while its SHA-256
// is the one recorded when it was downloaded; a changed archive, or one without a record, is
// refused offline, naming it.
func TestCachedDependencyIsVerified(t *testing.T) {
	const repo = "https://charts.example.com"
	for _, tc := range []struct {
		name    string
		tamper  func(t *testing.T, path string)
		wantErr string
	}{
		{name: "as downloaded"},
		{name: "archive changed", tamper: func(t *testing.T, path string) {
			data := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\ndescription: changed\n")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, wantErr: `chart "app": cached dependency "redis" 1.2.3 (https://charts.example.com) does not match the SHA-256 recorded when it was downloaded: delete it, or allow downloads to fetch it again`},
		{name: "no recorded digest", tamper: func(t *testing.T, path string) {
			if err := os.Remove(path + ".sha256"); err != nil {
				t.Fatal(err)
			}
		}, wantErr: `chart "app": cached dependency "redis" 1.2.3 (https://charts.example.com) does not match the SHA-256 recorded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, cache := t.TempDir(), t.TempDir()
			data := packagedChart(t, filepath.Join(root, "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\n")
			path := cachePath(cache, repo, "redis", "1.2.3")
			if err := keepInCache(data, path); err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				tc.tamper(t, path)
			}
			writeChart(t, filepath.Join(root, "app"), "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: "+repo+"}\n")
			ch, err := LoadChartTree(filepath.Join(root, "app"), LoadChart, DependencyOptions{Offline: true, CacheDir: cache})
			if testutil.ExpectError(t, err, tc.wantErr) {
				return
			}
			if deps := ch.chart.Dependencies(); len(deps) != 1 || deps[0].Name() != "redis" {
				t.Fatalf("dependencies %v, want the cached redis", deps)
			}
		})
	}
}

// TestDownloadCheckedAgainstIndexDigest: an archive whose SHA-256 is not the digest the
// repository's index gives it is refused, naming the dependency; a matching one is kept.
func TestDownloadCheckedAgainstIndexDigest(t *testing.T) {
	archive := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\n")
	sum := sha256.Sum256(archive)
	for _, tc := range []struct {
		name, digest, wantErr string
	}{
		{name: "digest matches", digest: hex.EncodeToString(sum[:])},
		{name: "digest differs", digest: strings.Repeat("0", 64), wantErr: `chart "app": dependency "redis" 1.2.3 as downloaded has SHA-256 ` + hex.EncodeToString(sum[:]) + `, its repository's index says ` + strings.Repeat("0", 64) + `: refused`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := redisRepo(t, archive, tc.digest)
			app := filepath.Join(t.TempDir(), "app")
			writeChart(t, app, "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: "+url+"}\n")
			ch, err := LoadChartTree(app, LoadChart, DependencyOptions{PlainHTTP: true, CacheDir: t.TempDir()})
			if testutil.ExpectError(t, err, tc.wantErr) {
				return
			}
			if deps := ch.chart.Dependencies(); len(deps) != 1 || deps[0].Name() != "redis" {
				t.Fatalf("dependencies %v, want redis", deps)
			}
		})
	}
}

// redisRepo serves a chart repository holding archive as redis 1.2.3 with digest in its
// index, Helm's repository config and cache kept in the test's directories; it returns its URL.
func redisRepo(t *testing.T, archive []byte, digest string) string {
	t.Helper()
	t.Setenv("HELM_REPOSITORY_CACHE", t.TempDir())
	t.Setenv("HELM_REPOSITORY_CONFIG", filepath.Join(t.TempDir(), "repositories.yaml"))
	var url string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.yaml":
			fmt.Fprintf(w, "apiVersion: v1\nentries:\n  redis:\n  - apiVersion: v2\n    name: redis\n    version: 1.2.3\n    digest: %q\n    urls: [%s/redis-1.2.3.tgz]\n", digest, url)
		case "/redis-1.2.3.tgz":
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	url = srv.URL
	return url
}

// TestTamperedCacheDownloadedAgain: where downloads are allowed, a cached archive that does
// not match its recorded SHA-256 is downloaded again, saying so, and the genuine one is used.
func TestTamperedCacheDownloadedAgain(t *testing.T) {
	archive := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\ndescription: genuine\n")
	sum := sha256.Sum256(archive)
	url := redisRepo(t, archive, hex.EncodeToString(sum[:]))
	cache := t.TempDir()
	path := cachePath(cache, url, "redis", "1.2.3")
	if err := keepInCache(archive, path); err != nil {
		t.Fatal(err)
	}
	tampered := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\ndescription: tampered\n")
	if err := os.WriteFile(path, tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(t.TempDir(), "app")
	writeChart(t, app, "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: "+url+"}\n")
	var out strings.Builder
	ch, err := LoadChartTree(app, LoadChart, DependencyOptions{Out: &out, PlainHTTP: true, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if deps := ch.chart.Dependencies(); len(deps) != 1 || deps[0].Metadata.Description != "genuine" {
		t.Fatalf("dependencies %v, want the genuine redis", deps)
	}
	if want := `dependency "redis" 1.2.3 from ` + url + `: the cached archive does not match the SHA-256 recorded when it was downloaded; downloading it again`; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != string(archive) {
		t.Fatalf("the cache still holds the tampered archive (%v)", err)
	}
}

// TestAliasedRepository: a dependency naming a repository of Helm's repositories file
// ("@NAME", "alias:NAME") is held to the same rules as one naming its URL: a plain-http one
// is refused without --plain-http, and a download is checked against that repository's index.
func TestAliasedRepository(t *testing.T) {
	archive := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\n")
	sum := sha256.Sum256(archive)
	for _, tc := range []struct {
		name, repository, digest, wantErr string
		plainHTTP                         bool
	}{
		{name: "@ alias to http refused", repository: "@myrepo", wantErr: `chart "app": dependency "redis" comes from URL (@myrepo in Helm's repositories file) over plain HTTP, which anyone on the way can change: use https, or pass --plain-http to allow it`},
		{name: "alias: to http refused", repository: "alias:myrepo", wantErr: `chart "app": dependency "redis" comes from URL (alias:myrepo in Helm's repositories file) over plain HTTP`},
		{name: "alias allowed by --plain-http", repository: "@myrepo", plainHTTP: true, digest: hex.EncodeToString(sum[:])},
		{name: "alias download checked against the index digest", repository: "alias:myrepo", plainHTTP: true, digest: strings.Repeat("0", 64), wantErr: `chart "app": dependency "redis" 1.2.3 as downloaded has SHA-256 ` + hex.EncodeToString(sum[:]) + `, its repository's index says ` + strings.Repeat("0", 64) + `: refused`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := redisRepo(t, archive, tc.digest)
			f := repo.NewFile()
			f.Add(&repo.Entry{Name: "myrepo", URL: url})
			if err := f.WriteFile(os.Getenv("HELM_REPOSITORY_CONFIG"), 0o644); err != nil {
				t.Fatal(err)
			}
			app := filepath.Join(t.TempDir(), "app")
			writeChart(t, app, "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: \""+tc.repository+"\"}\n")
			ch, err := LoadChartTree(app, LoadChart, DependencyOptions{PlainHTTP: tc.plainHTTP, CacheDir: t.TempDir()})
			if testutil.ExpectError(t, err, strings.ReplaceAll(tc.wantErr, "URL", url)) {
				return
			}
			if deps := ch.chart.Dependencies(); len(deps) != 1 || deps[0].Name() != "redis" {
				t.Fatalf("dependencies %v, want redis", deps)
			}
		})
	}
}

// TestCachedArchiveCheckedAgainstIndex: a cached archive replaced together with the SHA-256
// recorded beside it is caught by the digest its repository's index gives it (the index Helm
// keeps in its repository cache from the download): refused offline, downloaded again
// otherwise, naming it.
func TestCachedArchiveCheckedAgainstIndex(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offline bool
	}{{name: "offline"}, {name: "downloads allowed"}} {
		t.Run(tc.name, func(t *testing.T) {
			archive := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\ndescription: genuine\n")
			sum := sha256.Sum256(archive)
			url := redisRepo(t, archive, hex.EncodeToString(sum[:]))
			cache := t.TempDir()
			app := filepath.Join(t.TempDir(), "app")
			writeChart(t, app, "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.2.3, repository: "+url+"}\n")
			if _, err := LoadChartTree(app, LoadChart, DependencyOptions{PlainHTTP: true, CacheDir: cache}); err != nil {
				t.Fatal(err)
			}
			path := cachePath(cache, url, "redis", "1.2.3")
			tampered := packagedChart(t, filepath.Join(t.TempDir(), "redis"), "apiVersion: v2\nname: redis\nversion: 1.2.3\ndescription: tampered\n")
			if err := keepInCache(tampered, path); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			ch, err := LoadChartTree(app, LoadChart, DependencyOptions{Out: &out, PlainHTTP: true, CacheDir: cache, Offline: tc.offline})
			if tc.offline {
				testutil.ExpectError(t, err, `chart "app": cached dependency "redis" 1.2.3 (`+url+`) does not match the SHA-256 its repository's index gives it: delete it, or allow downloads to fetch it again`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if deps := ch.chart.Dependencies(); len(deps) != 1 || deps[0].Metadata.Description != "genuine" {
				t.Fatalf("dependencies %v, want the genuine redis", deps)
			}
			if want := `dependency "redis" 1.2.3 from ` + url + `: the cached archive does not match the SHA-256 its repository's index gives it; downloading it again`; !strings.Contains(out.String(), want) {
				t.Fatalf("output %q, want %q", out.String(), want)
			}
		})
	}
}
