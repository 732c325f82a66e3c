package giterm

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigOfTheProjectDirectory: the giterminism config is werf's, of the project
// directory (werf-giterminism.yaml there, or --giterminism-config relative to it), and its
// globs are relative to that directory (werf pkg/giterminism_manager).
func TestConfigOfTheProjectDirectory(t *testing.T) {
	repo := t.TempDir()
	project := filepath.Join(repo, "apps", "shop")
	for name, content := range map[string]string{
		"werf-giterminism.yaml":               "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"**\"]\n",
		"apps/shop/werf-giterminism.yaml":     "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [values-local.yaml]\n",
		"apps/shop/ci/giterminism.yaml":       "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"*.yaml\"]\n",
		"apps/shop/values.yaml":               "committed: true\n",
		"apps/shop/.werf/partials/names.tmpl": "x",
	} {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", "git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm init")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
	for name, content := range map[string]string{"apps/shop/values-local.yaml": "local: true\n", "apps/shop/values-other.yaml": "other: true\n"} {
		if err := os.WriteFile(filepath.Join(repo, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, config string
		file         string
		wantErr      string
	}{
		{name: "a glob of the project's config, relative to the project", file: "values-local.yaml"},
		{name: "not allowed by the project's config (the root's is not read)", file: "values-other.yaml", wantErr: `"apps/shop/values-other.yaml" (untracked)`},
		{name: "--giterminism-config relative to the project", config: "ci/giterminism.yaml", file: "values-other.yaml"},
		{name: "committed", file: "values.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(project, "", ModeStrict, tt.config)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.File(filepath.Join(project, tt.file))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("File(%s) = %v, want error %q", tt.file, err, tt.wantErr)
			}
		})
	}
	r, err := Open(project, "", ModeStrict, "")
	if err != nil {
		t.Fatal(err)
	}
	if !HasConfig(project, "") || HasConfig(filepath.Join(project, ".werf"), "") || !HasConfig(filepath.Join(project, ".werf"), "../ci/giterminism.yaml") {
		t.Fatal("HasConfig: want the project's werf-giterminism.yaml and --giterminism-config relative to the directory given")
	}
	if _, err := r.ChartFiles(filepath.Join(project, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ChartFiles of a directory the commit lacks: %v, want fs.ErrNotExist", err)
	}
	if files, err := r.ChartFiles(filepath.Join(project, ".werf")); err != nil || string(files["partials/names.tmpl"]) != "x" {
		t.Fatalf("ChartFiles(.werf) = %v, %v", files, err)
	}
}
