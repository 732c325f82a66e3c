package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

const distVersion = "v0.1.0"

// buildDist runs the release build for this machine's platform into a directory of the test
// and returns it.
func buildDist(t *testing.T, env *harness.Env) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./tools/dist", "-version", distVersion, "-platforms", runtime.GOOS+"/"+runtime.GOARCH, "-commit", "e2ecommit", "-out", out)
	cmd.Dir = env.RepoRoot
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist: %v\n%s", err, log)
	}
	return out
}

func extractTarGz(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		target := filepath.Join(dir, filepath.Clean(h.Name))
		os.MkdirAll(filepath.Dir(target), 0o755)
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(target, data, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReleaseArchives builds the release archives, checks the rendered krew manifest with
// krew's rules, installs the kubectl plugin from its archive (as krew lays it out) and the
// helm plugin from its archive under helm 3 (over HTTP) and helm 4 (a local file), runs them
// through the real kubectl and helm, and uninstalls the helm plugin.
func TestReleaseArchives(t *testing.T) {
	env := harness.Get(t)
	dist := buildDist(t, env)
	platform := runtime.GOOS + "_" + runtime.GOARCH

	check := exec.Command("go", "run", "./tools/dist", "check", "-manifest", filepath.Join(dist, "converge.yaml"), "-archives", dist)
	check.Dir = env.RepoRoot
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the rendered krew manifest breaks krew's rules: %v\n%s", err, out)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "sha256sums.txt"))
	if err != nil || strings.Count(string(sums), "\n") != 2 {
		t.Fatalf("sha256sums.txt: %v\n%s", err, sums)
	}
	verify := exec.Command("sha256sum", "-c", "sha256sums.txt")
	verify.Dir = dist
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}

	// kubectl: krew extracts the archive and links bin onto PATH.
	krewBin := t.TempDir()
	extractTarGz(t, filepath.Join(dist, "kubectl-converge_"+distVersion+"_"+platform+".tar.gz"), krewBin)
	if _, err := os.Stat(filepath.Join(krewBin, "LICENSE")); err != nil {
		t.Fatalf("the kubectl archive has no LICENSE: %v", err)
	}
	kubectl := func(args ...string) *harness.Cmd {
		return env.Command(t, "kubectl", args...).Env("PATH", krewBin+":"+env.ToolsBin+":/usr/bin:/bin")
	}
	list := kubectl("plugin", "list").Succeed().Stdout
	if !strings.Contains(list, filepath.Join(krewBin, "kubectl-converge")) {
		t.Fatalf("kubectl plugin list does not show the plugin:\n%s", list)
	}
	var v struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
		Date    string `json:"buildDate"`
	}
	out := kubectl("converge", "version", "-o", "json").Succeed().Stdout
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version != distVersion || v.Commit != "e2ecommit" || v.Date == "" {
		t.Fatalf("kubectl converge version -o json: %v\n%s", err, out)
	}
	if help := kubectl("converge", "--help").Succeed().Stdout; !strings.Contains(help, "kubectl converge [CHART] [flags]") {
		t.Fatalf("kubectl converge --help:\n%s", help)
	}
	// kubectl completes plugin arguments through kubectl_complete-converge on PATH.
	comp := kubectl("__complete", "converge", "dis").Succeed().Stdout
	if !strings.Contains(comp, "dismiss") {
		t.Fatalf("kubectl __complete converge dis:\n%s", comp)
	}

	pluginArchive := filepath.Join(dist, "giterm-"+strings.TrimPrefix(distVersion, "v")+"-"+runtime.GOOS+"-"+runtime.GOARCH+".tgz")
	// Helm 3 takes a URL for an archive only when the server says it is one.
	files := http.FileServer(http.Dir(dist))
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		files.ServeHTTP(w, r)
	}))
	defer server.Close()
	for _, tc := range []struct{ helm, source string }{
		{"helm3", server.URL + "/" + filepath.Base(pluginArchive)},
		{"helm4", pluginArchive},
	} {
		t.Run(tc.helm, func(t *testing.T) {
			home := t.TempDir()
			helm := func(args ...string) *harness.Cmd {
				return env.Command(t, tc.helm, args...).Dir(home).
					Env("PATH", env.ToolsBin+":/usr/bin:/bin").
					Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
					Env("HELM_DATA_HOME", filepath.Join(home, "data")).
					Env("HELM_CACHE_HOME", filepath.Join(home, "cache"))
			}
			install := []string{"plugin", "install", tc.source}
			if tc.helm == "helm4" {
				install = append(install, "--verify=false")
			}
			res := helm(install...).Succeed()
			if !strings.Contains(res.Combined(), "helm giterm: using") {
				t.Fatalf("the install hook did not find the archive's binary:\n%s", res.Combined())
			}
			list := helm("plugin", "list").Succeed().Stdout
			if !strings.Contains(list, "giterm") || !strings.Contains(list, strings.TrimPrefix(distVersion, "v")) {
				t.Fatalf("%s plugin list:\n%s", tc.helm, list)
			}
			if help := helm("giterm", "--help").Succeed().Stdout; !strings.Contains(help, "bundle-publish") {
				t.Fatalf("%s giterm --help:\n%s", tc.helm, help)
			}
			if out := helm("giterm", "version", "-o", "json").Succeed().Stdout; !strings.Contains(out, `"version": "`+distVersion+`"`) {
				t.Fatalf("%s giterm version -o json: %s", tc.helm, out)
			}
			comp := helm("__complete", "giterm", "bundle-").Succeed().Stdout
			for _, want := range []string{"bundle-apply", "bundle-copy", "bundle-plan", "bundle-publish", "bundle-render"} {
				if !strings.Contains(comp, want) {
					t.Fatalf("%s __complete giterm bundle- lacks %s:\n%s", tc.helm, want, comp)
				}
			}
			helm("plugin", "uninstall", "giterm").Succeed()
			if list := helm("plugin", "list").Succeed().Stdout; strings.Contains(list, "giterm") {
				t.Fatalf("%s plugin list after uninstall:\n%s", tc.helm, list)
			}
			if left, _ := filepath.Glob(filepath.Join(home, "data", "plugins", "giterm*")); len(left) != 0 {
				t.Fatalf("uninstall left %v", left)
			}
		})
	}
}

// TestHelmPluginInstallHookExplains installs the plugin from a directory that has neither a
// binary nor the sources: the hook fails saying what to install.
func TestHelmPluginInstallHookExplains(t *testing.T) {
	env := harness.Get(t)
	dir := filepath.Join(t.TempDir(), "giterm")
	for _, f := range []string{"plugin.yaml", "plugin.complete", "helm-giterm/install-binary.sh"} {
		data, err := os.ReadFile(filepath.Join(env.RepoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(data))
		os.Chmod(filepath.Join(dir, f), 0o755)
	}
	home := t.TempDir()
	res := env.Command(t, "helm3", "plugin", "install", dir).
		Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
		Env("HELM_DATA_HOME", filepath.Join(home, "data")).
		Env("HELM_CACHE_HOME", filepath.Join(home, "cache")).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Combined(), "install the release archive for your platform (giterm-<version>-<os>-<arch>.tgz)") {
		t.Fatalf("install without binary or sources: exit %d\n%s", res.ExitCode, res.Combined())
	}
}

// TestCompletion loads the completion scripts in bash and completes release names.
func TestCompletion(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	for _, program := range []string{"kubectl-converge", "helm-giterm"} {
		script := env.Command(t, program, "completion", "bash").Succeed().Stdout
		path := filepath.Join(t.TempDir(), program+".bash")
		writeFile(t, path, script)
		res := env.Command(t, "bash", "-c", "source "+path+" && complete -p "+program).Succeed()
		if !strings.Contains(res.Stdout, "complete -o default -F __start_"+program+" "+program) {
			t.Fatalf("%s: bash completion not registered:\n%s", program, res.Combined())
		}
	}
	for _, shell := range []string{"zsh", "fish"} {
		if out := env.Command(t, "kubectl-converge", "completion", shell).Succeed().Stdout; !strings.Contains(out, "kubectl-converge") {
			t.Fatalf("%s completion script does not name the program:\n%.300s", shell, out)
		}
	}
	env.Command(t, "kubectl", "converge", filepath.Join(env.RepoRoot, "examples", "demo-app"), "-n", ns, "--release", "completed-app").Succeed()
	out := env.Command(t, "kubectl-converge", "__complete", "history", "-n", ns, "").Succeed().Stdout
	if !strings.Contains(out, "completed-app\n") {
		t.Fatalf("release names are not completed:\n%s", out)
	}
	flags := env.Command(t, "kubectl-converge", "__complete", "--auto-").Succeed().Stdout
	if !strings.Contains(flags, "--auto-rollback") {
		t.Fatalf("flags are not completed:\n%s", flags)
	}
}
