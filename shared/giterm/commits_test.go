package giterm

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestCommits(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("werf.yaml")
	write(".helm/Chart.yaml")
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("first", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@t", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	write(ConfigFile) // not committed
	in := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name  string
		dir   string
		files []string
		want  bool
	}{
		{"committed", dir, []string{in("werf.yaml")}, true},
		{"from a subdirectory", in(".helm"), []string{in("werf.yaml")}, true},
		{"any of them", dir, []string{in(ConfigFile), in("werf.yml"), in("werf.yaml")}, true},
		{"only in the work tree", dir, []string{in(ConfigFile)}, false},
		{"absent", dir, []string{in("werf.yml")}, false},
		{"outside the repository", dir, []string{filepath.Join(t.TempDir(), "werf.yaml")}, false},
		{"no repository", t.TempDir(), []string{"werf.yaml"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Commits(tc.dir, tc.files...); got != tc.want {
				t.Fatalf("Commits(%s, %v) = %v, want %v", tc.dir, tc.files, got, tc.want)
			}
		})
	}
}
