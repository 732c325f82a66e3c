package cmd

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// commitProject writes committed into a new git repository in a temporary directory and
// commits it, then writes worktree over it without committing.
func commitProject(t *testing.T, committed, worktree map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, committed)
	cmd := exec.Command("sh", "-c", "git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm init")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	testutil.WriteFiles(t, dir, worktree)
	return dir
}

// TestReleaseCommandsReadTheProjectAsConvergeDoes: dismiss, history, rollback (and secret
// rotate-key, which finds the chart through werf.yaml) read
// werf.yaml (and the chart naming the release) as converge does, from the commit under
// giterminism, as werf's dismiss reads werf.yaml through its giterminism manager: an
// uncommitted change stops them naming the file, --dev and --loose-giterminism read the work
// tree. Reading the work tree regardless named another release than converge deployed (and
// dismiss then uninstalled nothing, successfully).
func TestReleaseCommandsReadTheProjectAsConvergeDoes(t *testing.T) {
	werfYAML := func(release string) string {
		return "project: shop\nconfigVersion: 1\ndeploy:\n  helmRelease: " + release + "\n  namespace: archive\n"
	}
	const chartYAML = "apiVersion: v2\nname: %s\nversion: 1.0.0\n"
	werfProject := commitProject(t, map[string]string{"werf.yaml": werfYAML("shop")}, nil)
	werfEdited := commitProject(t, map[string]string{"werf.yaml": werfYAML("shop")}, map[string]string{"werf.yaml": werfYAML("elsewhere")})
	// A plain chart in a project that commits its giterminism config: the release is named
	// after the chart at the commit.
	chartEdited := commitProject(t,
		map[string]string{"werf-giterminism.yaml": "giterminismConfigVersion: 1\n", ".helm/Chart.yaml": strings.Replace(chartYAML, "%s", "shop", 1)},
		map[string]string{".helm/Chart.yaml": strings.Replace(chartYAML, "%s", "elsewhere", 1)})
	releases, err := filepath.Abs(filepath.Join("testdata", "releases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HELM_MEMORY_DRIVER_DATA", releases)
	const uncommitted = `giterminism: commit these files first, or pass --dev to use the working tree`
	tests := []struct {
		name, dir string
		args      []string
		want      []string
	}{
		{"history committed", werfProject, []string{"history"}, []string{"exit 0", "Rollback to 1"}},
		{"history werf.yaml edited", werfEdited, []string{"history"}, []string{"exit 64", uncommitted, `"werf.yaml" (modified)`}},
		{"dismiss werf.yaml edited", werfEdited, []string{"dismiss"}, []string{"exit 64", uncommitted, `"werf.yaml" (modified)`}},
		{"rollback werf.yaml edited", werfEdited, []string{"rollback"}, []string{"exit 64", uncommitted, `"werf.yaml" (modified)`}},
		{"history werf.yaml edited --dev", werfEdited, []string{"history", "--dev"}, []string{"exit 1", `"elsewhere" in namespace "archive"`}},
		{"history werf.yaml edited --loose-giterminism", werfEdited, []string{"history", "--loose-giterminism"}, []string{"exit 1", `"elsewhere" in namespace "archive"`}},
		{"history chart edited", chartEdited, []string{"history", "-n", "archive"}, []string{"exit 64", uncommitted, `".helm/Chart.yaml" (modified)`}},
		{"history chart edited --dev", chartEdited, []string{"history", "-n", "archive", "--dev"}, []string{"exit 1", `"elsewhere" in namespace "archive"`}},
		// rotate-key finds the chart through werf.yaml's deploy.helmChartDir the same way.
		{"secret rotate-key werf.yaml edited", werfEdited, []string{"secret", "rotate-key"}, []string{"exit 64", uncommitted, `"werf.yaml" (modified)`}},
		{"secret rotate-key werf.yaml edited --dev", werfEdited, []string{"secret", "rotate-key", "--dev"}, []string{"exit 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The project is found from the current directory, as a user runs the command.
			t.Chdir(tt.dir)
			t.Setenv("WERF_OLD_SECRET_KEY", strings.Repeat("ab", 16))
			t.Setenv("WERF_SECRET_KEY", strings.Repeat("cd", 16))
			got := runWith(t, refusingPath, tt.args...)
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("%v: want %q in:\n%s", tt.args, want, got)
				}
			}
		})
	}
}
