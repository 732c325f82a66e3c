package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

func TestKubectlFindsConvergePlugin(t *testing.T) {
	env := harness.Get(t)
	list := env.Command(t, "kubectl", "plugin", "list").Succeed()
	if !strings.Contains(list.Stdout, filepath.Join(env.PluginBin, "kubectl-converge")) {
		t.Fatalf("kubectl plugin list does not show kubectl-converge:\n%s%s", list.Stdout, list.Stderr)
	}
	help := env.Command(t, "kubectl", "converge", "--help").Succeed()
	for _, want := range []string{"kubectl converge [CHART] [flags]", "--kubeconfig", "--namespace", "--release"} {
		if !strings.Contains(help.Stdout, want) {
			t.Fatalf("kubectl converge --help misses %q:\n%s", want, help.Stdout)
		}
	}
	version := env.Command(t, "kubectl", "converge", "version", "-o", "json").Succeed()
	if !strings.Contains(version.Stdout, `"version"`) || !strings.Contains(version.Stdout, `"commit"`) {
		t.Fatalf("kubectl converge version -o json printed %q", version.Stdout)
	}
}

func TestHelmRunsGitermPlugin(t *testing.T) {
	env := harness.Get(t)
	for _, helm := range []string{"helm3", "helm4"} {
		t.Run(helm, func(t *testing.T) {
			home := t.TempDir()
			run := func(args ...string) harness.Result {
				t.Helper()
				return env.Command(t, helm, args...).
					Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
					Env("HELM_DATA_HOME", filepath.Join(home, "data")).
					Env("HELM_CACHE_HOME", filepath.Join(home, "cache")).
					Succeed()
			}
			install := run("plugin", "install", env.RepoRoot)
			if !strings.Contains(install.Combined(), "Installed plugin: giterm") {
				t.Fatalf("helm plugin install did not report the plugin:\n%s", install.Combined())
			}
			if list := run("plugin", "list"); !strings.Contains(list.Stdout, "giterm") {
				t.Fatalf("helm plugin list does not show giterm:\n%s", list.Combined())
			}
			help := run("giterm", "--help")
			if !strings.Contains(help.Stdout, "helm giterm") || !strings.Contains(help.Stdout, "loads charts from a git commit") {
				t.Fatalf("helm giterm --help printed:\n%s", help.Combined())
			}
			// Helm strips its own global flags, such as -n, before calling the plugin.
			if version := run("giterm", "version", "-n", "somewhere"); !strings.HasPrefix(version.Stdout, "helm-giterm ") {
				t.Fatalf("helm giterm version printed:\n%s", version.Combined())
			}
			run("plugin", "uninstall", "giterm")
			if list := run("plugin", "list"); strings.Contains(list.Stdout, "giterm") {
				t.Fatalf("giterm still listed after uninstall:\n%s", list.Stdout)
			}
		})
	}
}
