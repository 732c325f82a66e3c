package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeChart(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) (explicit, dir string)
		want    func(root string) string
		wantErr string
	}{
		{
			name: "explicit path wins",
			setup: func(t *testing.T, root string) (string, string) {
				gitInit(t, root)
				writeChart(t, filepath.Join(root, ".helm"))
				return "charts/other", root
			},
			want: func(string) string { return "charts/other" },
		},
		{
			name: "werf layout at the work tree root, called from a subdirectory",
			setup: func(t *testing.T, root string) (string, string) {
				gitInit(t, root)
				writeChart(t, filepath.Join(root, ".helm"))
				sub := filepath.Join(root, "src", "app")
				if err := os.MkdirAll(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				return "", sub
			},
			want: func(root string) string { return filepath.Join(root, ".helm") },
		},
		{
			// The chart in the current directory, not the repository's .helm.
			name: "chart in a subdirectory of a repository with .helm",
			setup: func(t *testing.T, root string) (string, string) {
				gitInit(t, root)
				writeChart(t, filepath.Join(root, ".helm"))
				writeChart(t, filepath.Join(root, "charts", "web"))
				return "", filepath.Join(root, "charts", "web")
			},
			want: func(root string) string { return filepath.Join(root, "charts", "web") },
		},
		{
			// A werf project in a subdirectory (a monorepo): its .helm, as werf, run there, takes.
			name: "werf layout in the current directory below the work tree root",
			setup: func(t *testing.T, root string) (string, string) {
				gitInit(t, root)
				writeChart(t, filepath.Join(root, ".helm"))
				writeChart(t, filepath.Join(root, "app", ".helm"))
				return "", filepath.Join(root, "app")
			},
			want: func(root string) string { return filepath.Join(root, "app", ".helm") },
		},
		{
			name: "chart in the current directory outside git",
			setup: func(t *testing.T, root string) (string, string) {
				writeChart(t, root)
				return "", root
			},
			want: func(root string) string { return root },
		},
		{
			name: "nothing to deploy",
			setup: func(t *testing.T, root string) (string, string) {
				gitInit(t, root)
				return "", root
			},
			wantErr: "no chart found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			explicit, dir := tt.setup(t, root)
			got, err := Locate(explicit, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Locate() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Locate() error = %v", err)
			}
			if want := tt.want(root); got != want {
				t.Fatalf("Locate() = %q, want %q", got, want)
			}
		})
	}
}
