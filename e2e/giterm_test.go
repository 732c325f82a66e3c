package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// gitRepo makes a repository with the shop chart in .helm and one commit.
func gitRepo(t *testing.T, env *harness.Env) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "shop"), filepath.Join(dir, ".helm"))
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.local\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "first")
	return dir
}

func commitAll(t *testing.T, dir, msg string) string {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", msg)
	return headCommit(t, dir)
}

func headCommit(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestGiterminism runs helm-giterm template (no cluster needed) through each git scenario.
func TestGiterminism(t *testing.T) {
	env := harness.Get(t)
	template := func(dir string, args ...string) harness.Result {
		t.Helper()
		return env.Command(t, "helm-giterm", append([]string{"template", "shop", "--show-only", "templates/configmap.yaml"}, args...)...).Dir(dir).Run()
	}
	mustFail := func(t *testing.T, res harness.Result, wants ...string) {
		t.Helper()
		if res.ExitCode != 64 {
			t.Fatalf("exit %d, want 64\n%s", res.ExitCode, res.Combined())
		}
		for _, w := range wants {
			if !strings.Contains(res.Stderr, w) {
				t.Fatalf("error lacks %q:\n%s", w, res.Stderr)
			}
		}
		if strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Fatalf("want a one-line error:\n%s", res.Stderr)
		}
	}

	t.Run("clean commit renders", func(t *testing.T) {
		dir := gitRepo(t, env)
		res := template(dir)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "hello"`) || !strings.Contains(res.Stdout, "kubectl-converge.io/git-commit:") {
			t.Fatalf("clean render: exit %d\n%s", res.ExitCode, res.Combined())
		}
	})
	t.Run("modified template, untracked and modified named files are refused", func(t *testing.T) {
		dir := gitRepo(t, env)
		writeFile(t, filepath.Join(dir, "config", "motd.txt"), "committed\n")
		commitAll(t, dir, "motd")
		writeFile(t, filepath.Join(dir, ".helm", "templates", "service.yaml"), "# changed\n")
		mustFail(t, template(dir), `".helm/templates/service.yaml" (modified)`, "--dev")
		git(t, dir, "checkout", "--", ".helm")
		writeFile(t, filepath.Join(dir, "values-prod.yaml"), "greeting: prod\n")
		mustFail(t, template(dir, "-f", "values-prod.yaml"), `"values-prod.yaml" (untracked)`)
		writeFile(t, filepath.Join(dir, "config", "motd.txt"), "edited\n")
		mustFail(t, template(dir, "--set-file", "extra.motd=config/motd.txt"), `"config/motd.txt" (modified)`)
		// Ignored files do not count.
		writeFile(t, filepath.Join(dir, ".helm", "notes.local"), "ignored\n")
		if res := template(dir); res.ExitCode != 0 {
			t.Fatalf("an ignored file was reported:\n%s", res.Stderr)
		}
	})
	t.Run("--dev uses the working tree", func(t *testing.T) {
		dir := gitRepo(t, env)
		writeFile(t, filepath.Join(dir, "values-dev.yaml"), "greeting: from-dev\n")
		res := template(dir, "--dev", "-f", "values-dev.yaml")
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "from-dev"`) {
			t.Fatalf("--dev: exit %d\n%s", res.ExitCode, res.Combined())
		}
		if res := template(dir, "--loose-giterminism", "-f", "values-dev.yaml"); res.ExitCode != 0 {
			t.Fatalf("--loose-giterminism: exit %d\n%s", res.ExitCode, res.Stderr)
		}
	})
	t.Run("the config file lets one file through", func(t *testing.T) {
		dir := gitRepo(t, env)
		writeFile(t, filepath.Join(dir, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles:\n    - \"values-*.yaml\"\n")
		commitAll(t, dir, "config")
		writeFile(t, filepath.Join(dir, "values-local.yaml"), "greeting: allowed\n")
		res := template(dir, "-f", "values-local.yaml")
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "allowed"`) {
			t.Fatalf("allowed file: exit %d\n%s", res.ExitCode, res.Combined())
		}
		writeFile(t, filepath.Join(dir, "other.yaml"), "greeting: nope\n")
		mustFail(t, template(dir, "-f", "other.yaml"), `"other.yaml" (untracked)`)
		// The config itself is read from the commit: editing it changes nothing.
		writeFile(t, filepath.Join(dir, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"**\"]\n")
		mustFail(t, template(dir, "-f", "other.yaml"), `"other.yaml" (untracked)`)
	})
	t.Run("symlinks inside the repository work, outside are refused", func(t *testing.T) {
		dir := gitRepo(t, env)
		writeFile(t, filepath.Join(dir, "shared", "values.yaml"), "greeting: via-symlink\n")
		if err := os.Remove(filepath.Join(dir, ".helm", "values.yaml")); err != nil {
			t.Fatal(err)
		}
		// The chart's defaults come through the link; the chart still needs its other keys.
		writeFile(t, filepath.Join(dir, "shared", "values.yaml"), "replicas: 1\ngreeting: via-symlink\nimage: x\ndb: {password: p}\nuseSecretFile: false\nextra: {}\n")
		if err := os.Symlink("../shared/values.yaml", filepath.Join(dir, ".helm", "values.yaml")); err != nil {
			t.Fatal(err)
		}
		commitAll(t, dir, "symlink")
		res := template(dir)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "via-symlink"`) {
			t.Fatalf("symlink in the repository: exit %d\n%s", res.ExitCode, res.Combined())
		}
		outside := filepath.Join(t.TempDir(), "secret.yaml")
		writeFile(t, outside, "greeting: outside\n")
		if err := os.Symlink(outside, filepath.Join(dir, ".helm", "outside.yaml")); err != nil {
			t.Fatal(err)
		}
		commitAll(t, dir, "escape")
		mustFail(t, template(dir), `the symlink ".helm/outside.yaml" points outside the repository`)
	})
	t.Run("--git-ref renders an older commit", func(t *testing.T) {
		dir := gitRepo(t, env)
		old := headCommit(t, dir)
		writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "replicas: 2\ngreeting: newer\nimage: x\ndb: {password: p}\nuseSecretFile: false\nextra: {}\n")
		commitAll(t, dir, "newer")
		if res := template(dir); !strings.Contains(res.Stdout, `greeting: "newer"`) {
			t.Fatalf("HEAD render:\n%s", res.Combined())
		}
		res := template(dir, "--git-ref", old)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "hello"`) || !strings.Contains(res.Stdout, old) {
			t.Fatalf("--git-ref %s: exit %d\n%s", old, res.ExitCode, res.Combined())
		}
	})
	t.Run("a linked worktree works", func(t *testing.T) {
		dir := gitRepo(t, env)
		wt := filepath.Join(t.TempDir(), "wt")
		git(t, dir, "worktree", "add", "-q", wt)
		res := template(wt)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "hello"`) {
			t.Fatalf("linked worktree: exit %d\n%s", res.ExitCode, res.Combined())
		}
		writeFile(t, filepath.Join(wt, ".helm", "templates", "service.yaml"), "# changed\n")
		mustFail(t, template(wt), `".helm/templates/service.yaml" (modified)`)
	})
}

// TestGitermUpgradeThroughHelm deploys through the real helm front ends, with -n and
// --kube-context given to helm, tracks the rollout and records the commit.
func TestGitermUpgradeThroughHelm(t *testing.T) {
	env := harness.Get(t)
	raw, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, helm := range []string{"helm3", "helm4"} {
		t.Run(helm, func(t *testing.T) {
			ns := env.Namespace(t)
			dir := gitRepo(t, env)
			home := t.TempDir()
			// The current context points nowhere; --kube-context picks the real cluster.
			kubeconfig := filepath.Join(home, "kubeconfig")
			writeFile(t, kubeconfig, string(raw))
			cluster := strings.TrimSpace(env.Command(t, "kubectl", "config", "view", "--kubeconfig", kubeconfig, "--minify", "-o", "jsonpath={.contexts[0].context.cluster}").Succeed().Stdout)
			user := strings.TrimSpace(env.Command(t, "kubectl", "config", "view", "--kubeconfig", kubeconfig, "--minify", "-o", "jsonpath={.contexts[0].context.user}").Succeed().Stdout)
			env.Command(t, "kubectl", "config", "set-context", "real", "--kubeconfig", kubeconfig, "--cluster", cluster, "--user", user).Succeed()
			env.Command(t, "kubectl", "config", "set-cluster", "nowhere", "--kubeconfig", kubeconfig, "--server", "https://127.0.0.1:1").Succeed()
			env.Command(t, "kubectl", "config", "set-context", "broken", "--kubeconfig", kubeconfig, "--cluster", "nowhere", "--user", user).Succeed()
			env.Command(t, "kubectl", "config", "use-context", "broken", "--kubeconfig", kubeconfig).Succeed()
			run := func(args ...string) *harness.Cmd {
				return env.Command(t, helm, args...).Dir(dir).
					Env("KUBECONFIG", kubeconfig).
					Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
					Env("HELM_DATA_HOME", filepath.Join(home, "data")).
					Env("HELM_CACHE_HOME", filepath.Join(home, "cache"))
			}
			run("plugin", "install", env.RepoRoot).Succeed()
			commit := headCommit(t, dir)
			res := run("giterm", "upgrade", "shop", "--install", "-n", ns, "--kube-context", "real", "--progress", "plain").Run()
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, "deploy/shop-web ready") || !strings.Contains(res.Stderr, "commit "+commit[:12]) {
				t.Fatalf("helm giterm upgrade: exit %d\n%s", res.ExitCode, res.Combined())
			}
			hist := run("history", "shop", "-n", ns, "--kube-context", "real").Succeed().Stdout
			if !strings.Contains(hist, "Deployed from git commit "+commit) {
				t.Fatalf("helm history does not show the commit:\n%s", hist)
			}
			if got := jsonPath(t, env, ns, "deployment/shop-web", "{.metadata.annotations.kubectl-converge\\.io/git-commit}"); got != commit {
				t.Fatalf("deployment git-commit annotation = %q, want %s", got, commit)
			}
			// Without --install a missing release is an error, as with helm upgrade.
			missing := run("giterm", "upgrade", "other", "-n", ns, "--kube-context", "real").Run()
			if missing.ExitCode != 64 || !strings.Contains(missing.Stderr, "--install") {
				t.Fatalf("upgrade of a missing release without --install: exit %d\n%s", missing.ExitCode, missing.Stderr)
			}
		})
	}
}

// TestKubectlConvergeGiterminism: kubectl converge reads from git when asked with --git-ref,
// or when the repository commits a giterminism config.
func TestKubectlConvergeGiterminism(t *testing.T) {
	env := harness.Get(t)
	dir := gitRepo(t, env)
	render := func(args ...string) harness.Result {
		return env.Command(t, "kubectl", append([]string{"converge", "render", "--show-only", "templates/configmap.yaml"}, args...)...).Dir(dir).Run()
	}
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "replicas: 1\ngreeting: uncommitted\nimage: x\ndb: {password: p}\nuseSecretFile: false\nextra: {}\n")
	if res := render(); res.ExitCode != 0 || !strings.Contains(res.Stdout, `greeting: "uncommitted"`) {
		t.Fatalf("without giterminism the working tree is rendered: exit %d\n%s", res.ExitCode, res.Combined())
	}
	if res := render("--git-ref", "HEAD"); res.ExitCode != 64 || !strings.Contains(res.Stderr, `".helm/values.yaml" (modified)`) {
		t.Fatalf("--git-ref HEAD with an uncommitted change: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	git(t, dir, "checkout", "--", ".helm")
	writeFile(t, filepath.Join(dir, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\n")
	commitAll(t, dir, "giterminism on")
	writeFile(t, filepath.Join(dir, ".helm", "templates", "service.yaml"), "# changed\n")
	if res := render(); res.ExitCode != 64 || !strings.Contains(res.Stderr, `".helm/templates/service.yaml" (modified)`) {
		t.Fatalf("a committed werf-giterminism.yaml turns the checks on: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if res := render("--loose-giterminism"); res.ExitCode != 0 {
		t.Fatalf("--loose-giterminism: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}

func TestGitermLintAndPackage(t *testing.T) {
	env := harness.Get(t)
	dir := gitRepo(t, env)
	first := headCommit(t, dir)
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "replicas: 2\ngreeting: second\nimage: x\ndb: {password: p}\nuseSecretFile: false\nextra: {}\n")
	commitAll(t, dir, "second")
	giterm := func(args ...string) harness.Result {
		return env.Command(t, "helm-giterm", args...).Dir(dir).Run()
	}
	if res := giterm("lint"); res.ExitCode != 0 || !strings.Contains(res.Stderr, "linted, no failures") {
		t.Fatalf("lint of a clean chart: exit %d\n%s", res.ExitCode, res.Combined())
	}
	dest := t.TempDir()
	res := giterm("package", "--git-ref", first, "-d", dest)
	archive := filepath.Join(dest, "shop-1.2.3.tgz")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, archive) {
		t.Fatalf("package: exit %d\n%s", res.ExitCode, res.Combined())
	}
	values := env.Command(t, "helm3", "show", "values", archive).Succeed().Stdout
	if !strings.Contains(values, "greeting: hello") {
		t.Fatalf("the archive of --git-ref %s does not hold that commit's values:\n%s", first, values)
	}
	writeFile(t, filepath.Join(dir, ".helm", "templates", "broken.yaml"), "{{ .Values.nope.deeper }}\n")
	commitAll(t, dir, "broken")
	lint := giterm("lint")
	if lint.ExitCode != 64 || !strings.Contains(lint.Stdout, "templates/broken.yaml") {
		t.Fatalf("lint of a broken committed template: exit %d\n%s", lint.ExitCode, lint.Combined())
	}
	writeFile(t, filepath.Join(dir, ".helm", "templates", "broken.yaml"), "# fixed but not committed\n")
	if res := giterm("package", "-d", dest); res.ExitCode != 64 || !strings.Contains(res.Stderr, `".helm/templates/broken.yaml" (modified)`) {
		t.Fatalf("package with an uncommitted change: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}

func TestGitermErrorsNameTheUsersFiles(t *testing.T) {
	env := harness.Get(t)
	dir := gitRepo(t, env)
	writeFile(t, filepath.Join(dir, "values-bad.yaml"), "greeting: [unclosed\n")
	commitAll(t, dir, "bad values")
	res := env.Command(t, "helm-giterm", "template", "shop", "-f", "values-bad.yaml").Dir(dir).Run()
	if res.ExitCode != 64 || !strings.Contains(res.Stderr, "values-bad.yaml") || strings.Contains(res.Stderr, "converge-commit-files") {
		t.Fatalf("a bad committed values file must be named as the user named it: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}
