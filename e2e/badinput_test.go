package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-converge/converge/e2e/harness"
)

var updateBadInput = flag.Bool("update-bad-input", false, "rewrite the expected errors of the bad-input corpus")

// badInputCase is one e2e/testdata/bad-input/<case>/case.yaml: a command run against a
// copy of the demo chart (changed by Files and Remove) that must fail with the error of
// the case's error.golden and leave the deployed release as it was.
type badInputCase struct {
	// Why says what is wrong with the input.
	Why string `yaml:"why"`
	// Command is the binary and its arguments; {chart}, {ns}, {work}, {case} and {key} are
	// the chart directory, the namespace, the working directory, the case directory and a
	// valid secret key.
	Command []string `yaml:"command"`
	Exit    int      `yaml:"exit"`
	// Files are written into the chart (values are file contents), Remove deleted from it.
	Files  map[string]string `yaml:"files"`
	Remove []string          `yaml:"remove"`
	// Git makes the working directory a repository with the chart committed in .helm;
	// Uncommitted files are written after the commit.
	Git         bool              `yaml:"git"`
	Uncommitted map[string]string `yaml:"uncommitted"`
	// RemovedLater are chart files removed in a second commit, so that --git-ref HEAD~1
	// reads them from a commit alone (the working tree no longer has them).
	RemovedLater []string `yaml:"removedLater"`
	// Symlinks are created in the chart after Files: link name -> target.
	Symlinks map[string]string `yaml:"symlinks"`
	// Bundle writes {work}/bundle.tar.gz broken in the named way.
	Bundle string            `yaml:"bundle"`
	Env    map[string]string `yaml:"env"`
}

// TestBadInputCorpus runs every case of the corpus against a namespace holding a deployed
// release: each must exit with its code and exactly its one-line error, and afterwards the
// release's revisions, its live objects and the lock must be exactly as before.
func TestBadInputCorpus(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	base := filepath.Join(env.RepoRoot, "examples", "demo-app")
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	env.Command(t, "kubectl", "converge", base, "-n", ns, "--release", "victim").Succeed()
	before := releaseSnapshot(t, env, ns)

	root := filepath.Join(env.RepoRoot, "e2e", "testdata", "bad-input")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 40 {
		t.Fatalf("the corpus has %d cases, want at least 40", len(entries))
	}
	for _, entry := range entries {
		caseDir := filepath.Join(root, entry.Name())
		t.Run(entry.Name(), func(t *testing.T) {
			var c badInputCase
			data, err := os.ReadFile(filepath.Join(caseDir, "case.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(data, &c); err != nil {
				t.Fatalf("case.yaml: %v", err)
			}
			if c.Why == "" || len(c.Command) == 0 || c.Exit == 0 {
				t.Fatal("case.yaml needs why, command and a non-zero exit")
			}
			work := t.TempDir()
			chart := filepath.Join(work, "chart")
			if c.Git {
				chart = filepath.Join(work, ".helm")
			}
			copyDir(t, base, chart)
			for name, content := range c.Files {
				writeFile(t, filepath.Join(chart, name), strings.ReplaceAll(content, "{key}", key))
			}
			for _, name := range c.Remove {
				if err := os.Remove(filepath.Join(chart, name)); err != nil {
					t.Fatal(err)
				}
			}
			for name, target := range c.Symlinks {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(chart, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(chart, name)); err != nil {
					t.Fatal(err)
				}
			}
			if c.Git {
				git(t, work, "init", "-q")
				git(t, work, "add", "-A")
				git(t, work, "commit", "-qm", "chart")
				if len(c.RemovedLater) > 0 {
					for _, name := range c.RemovedLater {
						git(t, work, "rm", "-q", filepath.Join(".helm", name))
					}
					git(t, work, "commit", "-qm", "remove")
				}
				for name, content := range c.Uncommitted {
					writeFile(t, filepath.Join(chart, name), content)
				}
			}
			if c.Bundle != "" {
				writeBrokenBundle(t, filepath.Join(work, "bundle.tar.gz"), c.Bundle)
			}
			replacer := strings.NewReplacer("{chart}", chart, "{ns}", ns, "{work}", work, "{case}", caseDir, "{key}", key)
			args := make([]string, len(c.Command))
			for i, a := range c.Command {
				args[i] = replacer.Replace(a)
			}
			cmd := env.Command(t, args[0], args[1:]...).Dir(work)
			for k, v := range c.Env {
				cmd.Env(k, replacer.Replace(v))
			}
			res := cmd.Run()
			if res.ExitCode != c.Exit {
				t.Errorf("exit %d, want %d\n%s", res.ExitCode, c.Exit, res.Stderr)
			}
			got := errorLines(res.Stderr, map[string]string{work: "WORK", caseDir: "CASE", ns: "NAMESPACE", key: "KEY"})
			if strings.Count(got, "\n") != 1 {
				t.Errorf("want exactly one error line, got:\n%s", got)
			}
			if strings.Contains(got, key) {
				t.Errorf("the error shows the secret key")
			}
			golden := filepath.Join(caseDir, "error.golden")
			if *updateBadInput {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-bad-input to write it)", err)
			}
			if got != string(want) {
				t.Errorf("error differs from %s\ngot:  %s\nwant: %s", golden, got, want)
			}
			if after := releaseSnapshot(t, env, ns); after != before {
				t.Fatalf("the release changed:\nbefore: %s\nafter:  %s", before, after)
			}
			// CRDs are cluster-wide: the corpus names its own group, which must never appear.
			if crds := env.Kubectl(t, "get", "crd", "-o", "name"); strings.Contains(crds, "badinput.converge.test") {
				env.Kubectl(t, "delete", "crd", "gadgets.badinput.converge.test", "--ignore-not-found")
				t.Fatalf("refused input created a CRD:\n%s", crds)
			}
		})
	}
}

// progressLine matches what a run prints before it fails: its plan and tracking lines.
var progressLine = regexp.MustCompile(`^(converge: |\[\d\d:\d\d\] |Pulled: |Digest: )`)

// errorLines is stderr without progress lines, with the run's temporary paths and names
// replaced by stable words so that it can be compared with a golden file.
func errorLines(stderr string, stable map[string]string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if line == "" || progressLine.MatchString(line) {
			continue
		}
		out = append(out, line)
	}
	text := strings.Join(out, "\n") + "\n"
	// Longest first: the work directory contains the chart directory's prefix.
	keys := make([]string, 0, len(stable))
	for k := range stable {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		text = strings.ReplaceAll(text, k, stable[k])
	}
	// The other temporary directories of the test (the command's HOME).
	return regexp.MustCompile(`/tmp/TestBadInputCorpus[^/ "]*/\d+`).ReplaceAllString(text, "TMP")
}

// releaseSnapshot is everything a refused run must leave alone: the release's revisions
// and their statuses, the versions of its live objects, and the absence of a lock.
func releaseSnapshot(t *testing.T, env *harness.Env, ns string) string {
	t.Helper()
	revisions := env.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm", "-o",
		`jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.status} {end}`)
	// The werf-synchronization ConfigMap holds release locks, not the release: a refused run
	// may have taken and given back the lock (its resourceVersion moves); no lock may be left.
	objects := env.Kubectl(t, "-n", ns, "get", "configmaps,services", "-l", "!kubernetes.io/metadata.name", "-o",
		`jsonpath={range .items[*]}{.kind}/{.metadata.name}@{.metadata.resourceVersion} {end}`)
	objects = regexp.MustCompile(`ConfigMap/werf-synchronization@\d+ `).ReplaceAllString(objects, "")
	werfLocks := env.Kubectl(t, "-n", ns, "get", "configmaps", "--ignore-not-found", "werf-synchronization", "-o", "jsonpath={.metadata.annotations}")
	deployments := env.Kubectl(t, "-n", ns, "get", "deployments", "-o",
		`jsonpath={range .items[*]}{.metadata.name}@{.metadata.generation}/{.status.readyReplicas} {end}`)
	leases := env.Kubectl(t, "-n", ns, "get", "leases", "-o", "name")
	return "revisions: " + revisions + "| objects: " + objects + "| deployments: " + deployments + "| leases: " + strings.TrimSpace(leases) + " | werf locks: " + werfLocks
}

// writeBrokenBundle writes a bundle archive broken in the named way.
func writeBrokenBundle(t *testing.T, path, how string) {
	t.Helper()
	type entry struct {
		name     string
		data     []byte
		typeflag byte
	}
	index := []byte(`{"chartDigest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}`)
	var entries []entry
	switch how {
	case "not-gzip":
		writeFile(t, path, "this is not a bundle\n")
		return
	case "tampered":
		entries = []entry{{"bundle.json", index, tar.TypeReg}, {"chart.tgz", []byte("changed chart"), tar.TypeReg}}
	case "path-traversal":
		entries = []entry{{"../../outside.txt", []byte("x"), tar.TypeReg}}
	case "symlink-entry":
		entries = []entry{{"chart.tgz", nil, tar.TypeSymlink}}
	case "oversized-index":
		entries = []entry{{"bundle.json", bytes.Repeat([]byte(" "), 70<<10), tar.TypeReg}}
	case "missing-chart":
		entries = []entry{{"bundle.json", index, tar.TypeReg}}
	default:
		t.Fatalf("unknown bundle breakage %q", how)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: e.typeflag}
		if e.typeflag == tar.TypeSymlink {
			h.Linkname, h.Size = "/etc/passwd", 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
