package giterm

import (
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestConfigOfTheProjectDirectory: the giterminism config is werf's, of the project
// directory (werf-giterminism.yaml there, or --giterminism-config relative to it), and its
// globs are relative to that directory (werf pkg/giterminism_manager).
func TestConfigOfTheProjectDirectory(t *testing.T) {
	repo := t.TempDir()
	project := filepath.Join(repo, "apps", "shop")
	commitTree(t, repo, map[string]string{
		"werf-giterminism.yaml":               "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"**\"]\n",
		"apps/shop/werf-giterminism.yaml":     "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [values-local.yaml]\n",
		"apps/shop/ci/giterminism.yaml":       "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"*.yaml\"]\n",
		"apps/shop/values.yaml":               "committed: true\n",
		"apps/shop/.werf/partials/names.tmpl": "x",
	})
	testutil.WriteFiles(t, repo, map[string]string{"apps/shop/values-local.yaml": "local: true\n", "apps/shop/values-other.yaml": "other: true\n"})
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

// commitTree writes files below dir and commits them in a new repository there.
func commitTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	testutil.WriteFiles(t, dir, files)
	cmd := exec.Command("sh", "-c", "git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm init")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git: %v\n%s", err, out)
	}
}

// TestUncommittedFilesOfEachKind: werf.yaml, its partials and the files it reads with .Files
// come from the working tree only as config.allowUncommitted,
// config.allowUncommittedTemplates and config.goTemplateRendering.allowUncommittedFiles
// allow (werf pkg/giterminism_manager/config); helm.allowUncommittedFiles is for charts.
func TestUncommittedFilesOfEachKind(t *testing.T) {
	repo := t.TempDir()
	commitTree(t, repo, map[string]string{
		"werf-giterminism.yaml": `giterminismConfigVersion: 1
config:
  allowUncommitted: true
  allowUncommittedTemplates: [".werf/**/*.tmpl"]
  goTemplateRendering:
    allowUncommittedFiles: ["deploy/*"]
helm:
  allowUncommittedFiles: [".helm/values-local.yaml"]
`,
		"werf.yaml": "committed",
	})
	testutil.WriteFiles(t, repo, map[string]string{"werf.yaml": "uncommitted", ".werf/new.tmpl": "new", "deploy/name.txt": "shop", ".helm/values-local.yaml": "local"})
	r, err := Open(repo, "", ModeStrict, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		kind  Files
		path  string
		dir   bool
		want  string // content, or the error's
		isErr bool
	}{
		{name: "werf.yaml with config.allowUncommitted", kind: FilesWerfConfig, path: "werf.yaml", want: "uncommitted"},
		{name: "werf.yaml as a chart file", kind: FilesHelm, path: "werf.yaml", want: `"werf.yaml" (modified)`, isErr: true},
		{name: "an untracked partial with allowUncommittedTemplates", kind: FilesWerfTemplates, path: ".werf", dir: true, want: "new"},
		{name: "an untracked partial otherwise", kind: FilesWerfTemplateFiles, path: ".werf", dir: true, want: `".werf/new.tmpl" (untracked)`, isErr: true},
		{name: ".Files with goTemplateRendering.allowUncommittedFiles", kind: FilesWerfTemplateFiles, path: "deploy/name.txt", want: "shop"},
		{name: "helm.allowUncommittedFiles for charts", kind: FilesHelm, path: ".helm/values-local.yaml", want: "local"},
		{name: "helm.allowUncommittedFiles not for .Files", kind: FilesWerfTemplateFiles, path: ".helm/values-local.yaml", want: "(untracked)", isErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reader := r.For(tt.kind)
			var got string
			var err error
			if tt.dir {
				var files map[string][]byte
				files, err = reader.ChartFiles(filepath.Join(repo, tt.path))
				got = string(files["new.tmpl"])
			} else {
				var data []byte
				data, err = reader.File(filepath.Join(repo, tt.path))
				got = string(data)
			}
			if tt.isErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
