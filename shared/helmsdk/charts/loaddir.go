package charts

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kubectl-converge/converge/shared/giterm"
)

// maxLinkHops bounds chains of symlinks.
const maxLinkHops = 40

// ReadChartDir reads the files of a chart directory, keyed by their path in the chart.
// Symlinks are followed only while they resolve inside root (the git work tree holding the
// chart, else the chart directory): Helm's own loader follows them anywhere, so a chart
// could carry /proc/self/environ (and the secret key in it) into a template.
func ReadChartDir(dir string) (map[string][]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	root := projectRoot(resolved)
	files := map[string][]byte{}
	if err := readInto(files, dir, resolved, "", root, 0); err != nil {
		return nil, err
	}
	return files, nil
}

// projectRoot is the git work tree holding dir, else dir itself.
func projectRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// readInto adds the files below real (a resolved directory) under the chart-relative prefix;
// shown is the user's path of that directory, for errors.
func readInto(files map[string][]byte, shown, real, prefix, root string, hops int) error {
	entries, err := os.ReadDir(real)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(prefix, e.Name())
		at := filepath.Join(real, e.Name())
		userPath := filepath.Join(shown, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			if hops >= maxLinkHops {
				return fmt.Errorf("chart file %s: too many levels of symbolic links", userPath)
			}
			target, err := filepath.EvalSymlinks(at)
			if err != nil {
				return fmt.Errorf("chart file %s: a symlink to nothing (%v): remove it or point it at a file in the project", userPath, err)
			}
			if !inside(root, target) {
				link, _ := os.Readlink(at)
				return fmt.Errorf("chart file %s: the symlink points outside the project %s (to %s): charts may link only to files inside it", userPath, root, link)
			}
			if why := giterm.ForbiddenLinkTarget(root, target); why != "" {
				link, _ := os.Readlink(at)
				return fmt.Errorf("chart file %s: the symlink leads to %s (%s): charts may not read it, remove the link", userPath, why, link)
			}
			info, err := os.Stat(target)
			if err != nil {
				return err
			}
			if info.IsDir() {
				if err := readInto(files, userPath, target, name, root, hops+1); err != nil {
					return err
				}
				continue
			}
			data, err := os.ReadFile(target)
			if err != nil {
				return err
			}
			files[name] = data
			continue
		}
		if e.IsDir() {
			if e.Name() == ".git" {
				continue
			}
			if err := readInto(files, userPath, at, name, root, hops); err != nil {
				return err
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		if why := giterm.ForbiddenLinkTarget(root, at); why != "" {
			return fmt.Errorf("chart file %s is %s: charts may not read it, remove it or the link to its directory", userPath, why)
		}
		data, err := os.ReadFile(at)
		if err != nil {
			return err
		}
		files[name] = data
	}
	return nil
}
