// Package chart finds and loads the chart a command works on.
package chart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
)

// WerfChartDir is where werf projects keep their chart, relative to the git work tree root.
const WerfChartDir = ".helm"

// Locate returns the chart directory a command should use. An explicit path is used as it
// is. Without one: dir itself when it holds a Chart.yaml, else ".helm" in dir (a werf
// project there, as werf run in dir takes it), else ".helm" at the root of the git work
// tree holding dir (werf's layout, called from a subdirectory).
func Locate(explicit, dir string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if isChartDir(dir) {
		return dir, nil
	}
	if werf := filepath.Join(dir, WerfChartDir); isChartDir(werf) {
		return werf, nil
	}
	if root, err := workTreeRoot(dir); err == nil {
		werf := filepath.Join(root, WerfChartDir)
		if isChartDir(werf) {
			return werf, nil
		}
	}
	return "", fmt.Errorf("no chart found: %q has no Chart.yaml and there is no %s/Chart.yaml in it or at the git work tree root; pass the chart directory as an argument", dir, WerfChartDir)
}

func workTreeRoot(dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return "", err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if wt.Filesystem == nil {
		return "", errors.New("repository has no work tree")
	}
	return wt.Filesystem.Root(), nil
}

func isChartDir(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "Chart.yaml"))
	return err == nil && !info.IsDir()
}

// ProjectDir is the directory that holds project-wide files such as .werf_secret_key: the
// root of the git work tree holding dir, else dir itself.
func ProjectDir(dir string) string {
	if root, err := workTreeRoot(dir); err == nil {
		return root
	}
	return dir
}
