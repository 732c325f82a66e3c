package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// copyDir copies the directory tree src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shopChart returns a private copy of the shop test chart.
func shopChart(t *testing.T, env *harness.Env) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "shop"), dir)
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=e2e@test", "-c", "user.name=e2e"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// jsonPath reads one field of a live object with kubectl's jsonpath.
func jsonPath(t *testing.T, env *harness.Env, ns, object, path string) string {
	t.Helper()
	return env.Kubectl(t, "-n", ns, "get", object, "-o", "jsonpath="+path)
}

func secretValue(t *testing.T, env *harness.Env, ns, secret, key string) string {
	t.Helper()
	raw := jsonPath(t, env, ns, "secret/"+secret, "{.data."+key+"}")
	out, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("secret %s key %s: %v", secret, key, err)
	}
	return string(out)
}

type helmRevision struct {
	Revision int    `json:"revision"`
	Status   string `json:"status"`
	Chart    string `json:"chart"`
}

// helmHistory reads a release's history with a real helm binary (helm3 or helm4).
func helmHistory(t *testing.T, env *harness.Env, helm, ns, release string) []helmRevision {
	t.Helper()
	out := env.Command(t, helm, "history", release, "-n", ns, "-o", "json").Succeed().Stdout
	var revs []helmRevision
	if err := json.Unmarshal([]byte(out), &revs); err != nil {
		t.Fatalf("%s history: %v\n%s", helm, err, out)
	}
	return revs
}

func statuses(revs []helmRevision) string {
	var s []string
	for _, r := range revs {
		s = append(s, r.Status)
	}
	return strings.Join(s, ",")
}
