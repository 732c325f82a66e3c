package werfproject

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FindOptions say where to look for a werf project: werf's --dir and --config, and where the
// command runs.
type FindOptions struct {
	// Cwd is the current directory; relative paths are relative to it.
	Cwd string
	// Root bounds the search upwards: the git work tree root (Cwd outside git).
	Root string
	// Dir is --dir (WERF_DIR): the project directory; "" searches from Cwd.
	Dir string
	// Config is --config (WERF_CONFIG): the path of werf.yaml, relative to Cwd.
	Config string
}

// Find returns the project directory: --dir as given (werf's), Cwd with --config (werf's),
// else the nearest directory from Cwd up to Root that holds werf.yaml or werf.yml (werf looks
// only in Cwd; looking upwards finds the same project from its subdirectories). "" means no
// werf project. An explicit --dir or --config that holds no werf.yaml is an error.
func Find(opts FindOptions) (string, error) {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(opts.Cwd, p)
	}
	switch {
	case opts.Config != "":
		if info, err := os.Stat(abs(opts.Config)); err != nil || info.IsDir() {
			return "", fmt.Errorf("--config %q: no such file: give the path of werf.yaml, relative to the current directory", opts.Config)
		}
		if opts.Dir != "" {
			return abs(opts.Dir), nil
		}
		return opts.Cwd, nil
	case opts.Dir != "":
		dir := abs(opts.Dir)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return "", fmt.Errorf("--dir %q: no such directory", opts.Dir)
		}
		if configIn(dir) == "" {
			return "", fmt.Errorf("--dir %q: no werf.yaml or werf.yml there", opts.Dir)
		}
		return dir, nil
	}
	root := opts.Root
	if root == "" {
		root = opts.Cwd
	}
	for dir := opts.Cwd; ; {
		if configIn(dir) != "" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if dir == root || parent == dir || !within(root, parent) {
			return "", nil
		}
		dir = parent
	}
}

// within reports whether p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// configIn is the path of werf.yaml (or werf.yml) in dir, "" when there is none.
func configIn(dir string) string {
	for _, name := range ConfigFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	return ""
}
