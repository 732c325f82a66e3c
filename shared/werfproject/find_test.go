package werfproject

import (
	"path/filepath"
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestFind follows werf 1.2's discovery (cmd/werf/common GetWorkingDir, --dir, --config;
// pkg/giterminism_manager/file_reader/config.go): the project directory is --dir, else the
// current directory; werf.yaml (else werf.yml) in it, or --config.
func TestFind(t *testing.T) {
	const werfYAML = "project: p\nconfigVersion: 1\n"
	tests := []struct {
		name    string
		files   map[string]string
		cwd     string // relative to the tree
		dir     string
		config  string
		want    string // project directory relative to the tree; "-" none
		wantErr string
	}{
		{name: "werf.yaml in the current directory", files: map[string]string{"werf.yaml": werfYAML}, want: "."},
		{name: "werf.yml", files: map[string]string{"werf.yml": werfYAML}, want: "."},
		{name: "a project in a subdirectory of the repository, run there", files: map[string]string{"werf.yaml": werfYAML, "apps/shop/werf.yaml": werfYAML}, cwd: "apps/shop", want: "apps/shop"},
		{name: "from a subdirectory of the project, the nearest werf.yaml", files: map[string]string{"werf.yaml": werfYAML, "apps/shop/werf.yaml": werfYAML, "apps/shop/.helm/templates/x.yaml": ""}, cwd: "apps/shop/.helm/templates", want: "apps/shop"},
		{name: "no werf.yaml up to the root", files: map[string]string{"apps/x": ""}, cwd: "apps", want: "-"},
		{name: "--dir relative to the current directory", files: map[string]string{"apps/shop/werf.yaml": werfYAML, "docs/x": ""}, cwd: "docs", dir: "../apps/shop", want: "apps/shop"},
		{name: "--dir wins over the current directory", files: map[string]string{"werf.yaml": werfYAML, "apps/shop/werf.yaml": werfYAML}, dir: "apps/shop", want: "apps/shop"},
		{name: "--dir without werf.yaml", files: map[string]string{"werf.yaml": werfYAML, "apps/x": ""}, dir: "apps", wantErr: `--dir "apps": no werf.yaml or werf.yml there`},
		{name: "--dir that does not exist", files: map[string]string{"werf.yaml": werfYAML}, dir: "nope", wantErr: `--dir "nope": no such directory`},
		{name: "--config: the project directory is the current one", files: map[string]string{"deploy/werf-prod.yaml": werfYAML, "apps/x": ""}, cwd: "apps", config: "../deploy/werf-prod.yaml", want: "apps"},
		{name: "--config and --dir", files: map[string]string{"deploy/werf-prod.yaml": werfYAML, "apps/x": ""}, dir: "apps", config: "deploy/werf-prod.yaml", want: "apps"},
		{name: "--config that does not exist", files: map[string]string{"werf.yaml": werfYAML}, config: "werf-prod.yaml", wantErr: `--config "werf-prod.yaml": no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			testutil.WriteFiles(t, root, tt.files)
			got, err := Find(FindOptions{Cwd: filepath.Join(root, tt.cwd), Root: root, Dir: tt.dir, Config: tt.config})
			if wantedError(t, err, tt.wantErr) {
				return
			}
			want := ""
			if tt.want != "-" {
				want = filepath.Join(root, tt.want)
			}
			if got != want {
				t.Fatalf("Find = %q, want %q", got, want)
			}
		})
	}
}
