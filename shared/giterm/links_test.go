package giterm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestDevLinksRefused: with --dev, a chart's symlink may not lead into .git/, to a secret
// key file, or to a file git ignores (directly or through a linked directory).
func TestDevLinksRefused(t *testing.T) {
	tests := []struct {
		name, link, wantErr string
	}{
		{name: "a committed file of the repository", link: "../../shared/common.txt"},
		{name: "an ignored file", link: "../../local.env", wantErr: `the symlink ".helm/files/l" leads to a file git ignores`},
		{name: "a file in an ignored directory", link: "../../private/token", wantErr: "leads to a file git ignores"},
		{name: "the secret key", link: "../../.werf_secret_key", wantErr: "leads to a secret key file"},
		{name: "git credentials", link: "../../.git/config", wantErr: "leads to the .git directory"},
		{name: "a directory holding the secret key", link: "../..", wantErr: "leads to"},
		{name: "an ignored directory", link: "../../private", wantErr: "leads to a file git ignores"},
		{name: "a directory holding an ignored file", link: "../../app", wantErr: "leads to a file git ignores (../../app)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			commitTree(t, repo, map[string]string{
				".gitignore":        "local.env\nprivate/\n.werf_secret_key\n",
				".helm/Chart.yaml":  "apiVersion: v2\nname: app\nversion: 1.0.0\n",
				"shared/common.txt": "shared\n",
			})
			testutil.WriteFiles(t, repo, map[string]string{"local.env": "TOKEN=MARKER\n", "private/token": "MARKER\n", "app/local.env": "MARKER\n", ".werf_secret_key": "MARKER\n"})
			if err := os.MkdirAll(filepath.Join(repo, ".helm", "files"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tt.link, filepath.Join(repo, ".helm", "files", "l")); err != nil {
				t.Fatal(err)
			}
			r, err := Open(repo, "", ModeDev, "")
			if err != nil {
				t.Fatal(err)
			}
			files, err := r.ChartFiles(filepath.Join(repo, ".helm"))
			if tt.wantErr == "" {
				if err != nil || string(files["files/l"]) != "shared\n" {
					t.Fatalf("ChartFiles = %q, %v; want the linked file", files["files/l"], err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "MARKER") {
				t.Fatalf("ChartFiles error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestCommittedLinkToSecretKeyRefused: in a commit too, a chart's symlink may not lead to a
// committed secret key file.
func TestCommittedLinkToSecretKeyRefused(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".helm", "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../.werf_secret_key", filepath.Join(repo, ".helm", "files", "k")); err != nil {
		t.Fatal(err)
	}
	commitTree(t, repo, map[string]string{".helm/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n", ".werf_secret_key": "MARKER\n"})
	r, err := Open(repo, "", ModeStrict, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ChartFiles(filepath.Join(repo, ".helm"))
	if err == nil || !strings.Contains(err.Error(), `the symlink ".helm/files/k" leads to a secret key file`) {
		t.Fatalf("ChartFiles error %v, want the link refused", err)
	}
}

// TestForbiddenLinkTargetKeyFile: a link resolving to the file --secret-key-file names is
// refused whatever the file is called, as .werf_secret_key and .git/ are.
func TestForbiddenLinkTargetKeyFile(t *testing.T) {
	root := t.TempDir()
	keyFile := filepath.Join(root, "ci", "deploy.key")
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ForbidSecretKeyFile(filepath.Join(root, "ci", "..", "ci", "deploy.key"))
	real, err := filepath.EvalSymlinks(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ resolved, want string }{
		{real, "a secret key file"},
		{filepath.Join(root, ".werf_secret_key"), "a secret key file"},
		{filepath.Join(root, ".git", "config"), "the .git directory"},
		{filepath.Join(root, "ci", "other"), ""},
	} {
		if got := ForbiddenLinkTarget(root, tc.resolved); got != tc.want {
			t.Errorf("ForbiddenLinkTarget(%s) = %q, want %q", tc.resolved, got, tc.want)
		}
	}
}

// TestCommittedLinkToKeyFileRefused: in a commit (here not the one checked out), a chart's
// symlink to the file --secret-key-file names is refused whatever the file is called, as
// .werf_secret_key is.
func TestCommittedLinkToKeyFileRefused(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".helm", "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../ci/deploy.key", filepath.Join(repo, ".helm", "files", "k")); err != nil {
		t.Fatal(err)
	}
	commitTree(t, repo, map[string]string{".helm/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n", "ci/deploy.key": "MARKER\n"})
	// The link is read from the commit alone: the working tree no longer has it.
	cmd := exec.Command("sh", "-c", "git rm -q .helm/files/k && git -c user.email=t@t -c user.name=t commit -qm unlink")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	ForbidSecretKeyFile(filepath.Join(repo, "ci", "deploy.key"))
	r, err := Open(repo, "HEAD~1", ModeStrict, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ChartFiles(filepath.Join(repo, ".helm"))
	if err == nil || err.Error() != `giterminism: the symlink ".helm/files/k" leads to a secret key file (../../ci/deploy.key): charts may not read it, remove the link` {
		t.Fatalf("ChartFiles error %v, want the link refused", err)
	}
}
