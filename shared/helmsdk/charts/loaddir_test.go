package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadChartSymlinks: a chart directory follows symlinks inside its project (the git work
// tree, else the chart) and refuses one that leaves it, naming the link.
func TestLoadChartSymlinks(t *testing.T) {
	tests := []struct {
		name    string
		git     bool
		link    string // target of files/linked, relative to the chart unless absolute
		wantErr string
	}{
		{name: "process environment", link: "/proc/self/environ", wantErr: "files/linked: the symlink points outside the project"},
		{name: "outside the project", git: true, link: "../../../../outside.txt", wantErr: "files/linked: the symlink points outside the project"},
		{name: "a shared file of the repository", git: true, link: "../../../shared/common.txt"},
		{name: "a file of the chart", link: "../values.yaml"},
		{name: "a dangling link", link: "../nothing", wantErr: "a symlink to nothing"},
		{name: "the secret key", git: true, link: "../../../.werf_secret_key", wantErr: "files/linked: the symlink leads to a secret key file"},
		{name: "git credentials", git: true, link: "../../../.git/config", wantErr: "files/linked: the symlink leads to the .git directory"},
		{name: "the .git directory", git: true, link: "../../../.git", wantErr: "files/linked: the symlink leads to the .git directory"},
		{name: "a directory holding the secret key", git: true, link: "../../..", wantErr: "files/linked/.werf_secret_key is a secret key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			project := filepath.Join(base, "project")
			chart := filepath.Join(project, "charts", "app")
			writeChart(t, chart, "apiVersion: v2\nname: app\nversion: 1.0.0\n")
			for path, data := range map[string]string{
				filepath.Join(chart, "values.yaml"):            "a: b\n",
				filepath.Join(project, "shared", "common.txt"): "shared\n",
				filepath.Join(base, "outside.txt"):             "outside " + "MARKER\n",
			} {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.git {
				if err := os.Mkdir(filepath.Join(project, ".git"), 0o755); err != nil {
					t.Fatal(err)
				}
				for name, data := range map[string]string{".git/config": "token " + "MARKER\n", ".werf_secret_key": "key " + "MARKER\n"} {
					if err := os.WriteFile(filepath.Join(project, name), []byte(data), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := os.MkdirAll(filepath.Join(chart, "files"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tt.link, filepath.Join(chart, "files", "linked")); err != nil {
				t.Fatal(err)
			}
			ch, err := LoadChart(chart)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "MARKER") {
					t.Fatalf("the error shows the linked content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := ch.File("files/linked"); !ok {
				t.Fatalf("the linked file is not in the chart")
			}
		})
	}
}
