package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// werfProject makes a git repository with the shop chart in .helm/ (werf's layout) and a
// secret key, and returns the repository directory and the key.
func werfProject(t *testing.T, env *harness.Env) (dir, key string) {
	t.Helper()
	dir = t.TempDir()
	copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "shop"), filepath.Join(dir, ".helm"))
	key = strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	if len(key) != 32 {
		t.Fatalf("generate-key printed %q, want 32 hex characters", key)
	}
	writeFile(t, filepath.Join(dir, ".werf_secret_key"), key+"\n")
	encrypt := func(plain, target string) {
		t.Helper()
		env.Command(t, "kubectl-converge", "secret", "encrypt", "-o", filepath.Join(dir, target)).
			Dir(dir).Stdin(plain).Succeed()
	}
	encrypt("db:\n  password: s3cr3t-from-werf-secrets\n", ".helm/secret-values.yaml")
	writeFile(t, filepath.Join(dir, ".helm", "secret", "placeholder"), "")
	if err := os.Remove(filepath.Join(dir, ".helm", "secret", "placeholder")); err != nil {
		t.Fatal(err)
	}
	env.Command(t, "kubectl-converge", "secret", "encrypt", "--mode", "file", "-o", filepath.Join(dir, ".helm", "secret", "config.txt")).
		Dir(dir).Stdin("listen: 8080\ntoken: file-secret-token\n").Succeed()
	writeFile(t, filepath.Join(dir, ".gitignore"), ".werf_secret_key\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "chart")
	return dir, key
}

func TestWerfLayoutWithSecrets(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	dir, _ := werfProject(t, env)
	sub := filepath.Join(dir, "src")
	writeFile(t, filepath.Join(sub, "main.go"), "package main\n")

	// From a subdirectory, with no CHART: .helm/ at the work tree root, the key from
	// .werf_secret_key there.
	env.Command(t, "kubectl", "converge", "-n", ns, "--set", "useSecretFile=true").Dir(sub).Succeed()
	if got := secretValue(t, env, ns, "shop-db", "password"); got != "s3cr3t-from-werf-secrets" {
		t.Fatalf("secret password = %q, want the decrypted secret value", got)
	}
	if got := jsonPath(t, env, ns, "configmap/shop-secret-file", "{.data.config\\.txt}"); got != "listen: 8080\ntoken: file-secret-token\n" {
		t.Fatalf("werf_secret_file content = %q", got)
	}
	// An extra --secret-values file overrides the chart's, with the key from --secret-key-file.
	key, err := os.ReadFile(filepath.Join(dir, ".werf_secret_key"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	writeFile(t, keyFile, string(key))
	extra := filepath.Join(t.TempDir(), "prod-secrets.yaml")
	env.Command(t, "kubectl-converge", "secret", "encrypt", "-o", extra, "--secret-key-file", keyFile).Stdin("db:\n  password: prod-override\n").Succeed()
	env.Command(t, "kubectl", "converge", filepath.Join(dir, ".helm"), "-n", ns, "--secret-values", extra, "--secret-key-file", keyFile).Dir(t.TempDir()).Succeed()
	if got := secretValue(t, env, ns, "shop-db", "password"); got != "prod-override" {
		t.Fatalf("secret password with --secret-values = %q, want prod-override", got)
	}
}

func TestWrongSecretKeyDeploysNothing(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	dir, _ := werfProject(t, env)
	other := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	res := env.Command(t, "kubectl", "converge", "-n", ns).Dir(dir).Env("WERF_SECRET_KEY", other).Run()
	if res.ExitCode != 64 {
		t.Fatalf("wrong key: exit %d, want 64\n%s", res.ExitCode, res.Stderr)
	}
	msg := strings.TrimSpace(res.Stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "secret-values.yaml") || !strings.Contains(msg, "decryption failed") {
		t.Fatalf("want one line naming the file and the decryption failure, got:\n%s", res.Stderr)
	}
	if list := env.Command(t, "helm3", "list", "-n", ns, "-a", "-q").Succeed().Stdout; strings.TrimSpace(list) != "" {
		t.Fatalf("a release exists after a failed decryption: %q", list)
	}
	noKey := env.Command(t, "kubectl", "converge", "-n", ns, "--secret-values", filepath.Join(dir, ".helm", "secret-values.yaml"), filepath.Join(dir, ".helm")).Run()
	if noKey.ExitCode != 64 || !strings.Contains(noKey.Stderr, "secret key not found") {
		t.Fatalf("no key anywhere: exit %d\n%s", noKey.ExitCode, noKey.Stderr)
	}
}

func TestSecretCommands(t *testing.T) {
	env := harness.Get(t)
	dir, oldKey := werfProject(t, env)
	run := func(args ...string) *harness.Cmd {
		return env.Command(t, "kubectl-converge", append([]string{"secret"}, args...)...).Dir(dir)
	}
	values := filepath.Join(dir, ".helm", "secret-values.yaml")
	before, _ := os.ReadFile(values)
	if !strings.Contains(string(before), "password: 1000") || strings.Contains(string(before), "s3cr3t") {
		t.Fatalf("encrypted values file does not look like werf's format:\n%s", before)
	}
	if got := run("decrypt", values).Succeed().Stdout; got != "db:\n  password: s3cr3t-from-werf-secrets\n" {
		t.Fatalf("decrypt = %q", got)
	}
	if got := run("decrypt", filepath.Join(dir, ".helm", "secret", "config.txt")).Succeed().Stdout; !strings.Contains(got, "file-secret-token") {
		t.Fatalf("decrypt of a secret/ file = %q", got)
	}

	// edit: the editor appends a value; the untouched one keeps its ciphertext.
	editor := filepath.Join(t.TempDir(), "editor.sh")
	writeFile(t, editor, "#!/bin/sh\nprintf '  user: app\\n' >> \"$1\"\n")
	if err := os.Chmod(editor, 0o755); err != nil {
		t.Fatal(err)
	}
	run("edit", values).Env("EDITOR", editor).Succeed()
	after, _ := os.ReadFile(values)
	oldLine := strings.Split(string(before), "\n")[1]
	if !strings.Contains(string(after), oldLine) {
		t.Fatalf("edit re-encrypted an unchanged value:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := run("decrypt", values).Succeed().Stdout; got != "db:\n  password: s3cr3t-from-werf-secrets\n  user: app\n" {
		t.Fatalf("decrypt after edit = %q", got)
	}

	// rotate-key: everything moves to the new key; the old key no longer reads it.
	newKey := strings.TrimSpace(run("generate-key").Succeed().Stdout)
	run("rotate-key", "--chart", filepath.Join(dir, ".helm")).Env("WERF_OLD_SECRET_KEY", oldKey).Env("WERF_SECRET_KEY", newKey).Succeed()
	if got := run("decrypt", values).Env("WERF_SECRET_KEY", newKey).Succeed().Stdout; !strings.Contains(got, "s3cr3t-from-werf-secrets") {
		t.Fatalf("decrypt with the new key after rotate-key = %q", got)
	}
	if got := run("decrypt", filepath.Join(dir, ".helm", "secret", "config.txt")).Env("WERF_SECRET_KEY", newKey).Succeed().Stdout; !strings.Contains(got, "file-secret-token") {
		t.Fatalf("secret file after rotate-key = %q", got)
	}
	if res := run("decrypt", values).Env("WERF_SECRET_KEY", oldKey).Run(); res.ExitCode == 0 {
		t.Fatalf("the old key still decrypts after rotate-key")
	}
	// A wrong old key changes nothing.
	snapshot, _ := os.ReadFile(values)
	if res := run("rotate-key", "--chart", filepath.Join(dir, ".helm")).Env("WERF_OLD_SECRET_KEY", oldKey).Env("WERF_SECRET_KEY", newKey).Run(); res.ExitCode == 0 {
		t.Fatalf("rotate-key with a wrong old key succeeded")
	}
	if now, _ := os.ReadFile(values); string(now) != string(snapshot) {
		t.Fatalf("a failed rotate-key changed %s", values)
	}
	// --secret-key-file wins over the environment.
	keyFile := filepath.Join(t.TempDir(), "key")
	writeFile(t, keyFile, newKey)
	if got := run("decrypt", values, "--secret-key-file", keyFile).Env("WERF_SECRET_KEY", oldKey).Succeed().Stdout; !strings.Contains(got, "s3cr3t") {
		t.Fatalf("--secret-key-file was not used: %q", got)
	}
}

// TestSecretEditLeavesNoPlaintext: the plaintext copy of a secret edit killed with SIGKILL
// (no chance to clean up) is removed by the next secret edit; the copies live in a directory
// only the user can read.
func TestSecretEditLeavesNoPlaintext(t *testing.T) {
	env := harness.Get(t)
	dir := t.TempDir()
	tmp := t.TempDir()
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	file := filepath.Join(dir, "secret-values.yaml")
	env.Command(t, "kubectl-converge", "secret", "encrypt", "-o", file).Env("WERF_SECRET_KEY", key).Stdin("password: EDITMARKER\n").Succeed()
	edits := filepath.Join(tmp, fmt.Sprintf("kubectl-converge-secret-edit-%d", os.Getuid()))
	plaintexts := func() []string {
		entries, _ := os.ReadDir(edits)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	slowEditor := filepath.Join(dir, "slow-editor")
	writeFile(t, slowEditor, "#!/bin/sh\nsleep 3\n")
	if err := os.Chmod(slowEditor, 0o755); err != nil {
		t.Fatal(err)
	}
	run := env.Command(t, "kubectl-converge", "secret", "edit", file).Env("WERF_SECRET_KEY", key).Env("TMPDIR", tmp).Env("EDITOR", slowEditor).Start()
	harness.Eventually(t, time.Minute, func() string {
		if len(plaintexts()) == 0 {
			return "no plaintext copy yet"
		}
		return ""
	})
	if info, err := os.Stat(edits); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("the edit directory is not private: %v %v", info.Mode(), err)
	}
	if err := run.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run.Wait()
	if len(plaintexts()) == 0 {
		t.Fatal("the killed edit left nothing: the test cannot show the sweep")
	}
	env.Command(t, "kubectl-converge", "secret", "edit", file).Env("WERF_SECRET_KEY", key).Env("TMPDIR", tmp).Env("EDITOR", "true").Succeed()
	if left := plaintexts(); len(left) != 0 {
		t.Fatalf("plaintext copies left after the next edit: %v", left)
	}
}
