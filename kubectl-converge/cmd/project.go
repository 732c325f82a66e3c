package cmd

import (
	"os"
	"path/filepath"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/werfproject"
)

// project is what a command knows of the project it runs in: its directory (the werf
// project's, else the git work tree root, else the current directory), werf.yaml when there
// is one, and the repository at the commit files are read from in git mode.
type project struct {
	dir    string
	config *werfproject.Config
	repo   *giterm.Repo
}

// openProject finds the werf project as werf does (--dir, --config, else werf.yaml from the
// current directory up to the git work tree root) and reads its werf.yaml: from the commit
// when git asks for giterminism (or the project commits werf.yaml or a giterminism config),
// else from the file system. Every command reads the project through here, as each of werf's
// reads werf.yaml through its giterminism manager; flags nil finds the project from the
// current directory.
func openProject(flags *cliutil.ProjectFlags, git *cliutil.GitFlags, env string) (*project, error) {
	if flags == nil {
		flags = &cliutil.ProjectFlags{}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root := chart.ProjectDir(cwd)
	werfDir, err := werfproject.Find(werfproject.FindOptions{Cwd: cwd, Root: root, Dir: flags.Dir, Config: flags.Config})
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	p := &project{dir: root}
	if werfDir != "" {
		p.dir = werfDir
	}
	if p.repo, err = giterminism(git, p.dir, werfConfigPaths(cwd, werfDir, flags.Config)...); err != nil {
		return nil, err
	}
	if werfDir == "" {
		return p, nil
	}
	opts := werfproject.LoadOptions{Dir: p.dir, Config: flags.Config, TemplatesDir: flags.TemplatesDir, Env: env}
	if opts.TemplatesDir != "" && !filepath.IsAbs(opts.TemplatesDir) {
		opts.TemplatesDir = filepath.Join(cwd, opts.TemplatesDir)
	}
	if p.repo != nil {
		files := p.repo.For(giterm.FilesWerfTemplateFiles)
		opts.Read, opts.ReadDir, opts.EnvAllowed = files.File, files.ChartFiles, p.repo.EnvAllowed
		opts.ReadConfig, opts.ReadTemplates = p.repo.For(giterm.FilesWerfConfig).File, p.repo.For(giterm.FilesWerfTemplates).ChartFiles
	}
	if c := p.commitOf(p.dir); c != nil {
		opts.Commit = &werfproject.Commit{Hash: c.Hash, Date: c.Date}
	}
	if p.config, err = werfproject.Load(opts); err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return p, nil
}

// werfConfigPaths are the paths werf.yaml of the project in werfDir may have: --config
// (relative to cwd), else werf.yaml and werf.yml there; none outside a werf project.
func werfConfigPaths(cwd, werfDir, config string) []string {
	switch {
	case werfDir == "":
		return nil
	case config != "" && filepath.IsAbs(config):
		return []string{config}
	case config != "":
		return []string{filepath.Join(cwd, config)}
	}
	paths := make([]string, 0, len(werfproject.ConfigFiles))
	for _, name := range werfproject.ConfigFiles {
		paths = append(paths, filepath.Join(werfDir, name))
	}
	return paths
}

// commitOf is the commit of path (a directory or a file) for .Values.werf.commit and
// werf.yaml's .Commit: the one files are read from in git mode, else HEAD of the repository
// holding path (which need not be the current directory's); nil outside git.
func (p *project) commitOf(path string) *inject.Commit {
	if p.repo != nil {
		return &inject.Commit{Hash: p.repo.Commit(), Date: p.repo.CommitTime()}
	}
	if info, err := os.Stat(path); err == nil && !info.IsDir() {
		path = filepath.Dir(path)
	}
	if hash, when, ok := giterm.HeadCommit(path); ok {
		return &inject.Commit{Hash: hash, Date: when}
	}
	return nil
}

// chartPath is the chart to deploy: the CHART argument, else a werf project's chart
// directory (deploy.helmChartDir, default .helm, with or without Chart.yaml), else what
// chart.Locate finds.
func (p *project) chartPath(args []string) (string, error) {
	if len(args) == 1 && args[0] != "" {
		return args[0], nil
	}
	if p.config != nil {
		return filepath.Join(p.dir, p.config.ChartDir), nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	path, err := chart.Locate("", cwd)
	if err != nil {
		return "", exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return path, nil
}

// namespace is the release namespace: -n (or WERF_NAMESPACE) as given, else in a werf
// project werf's deploy.namespace, else kubectl's (the context's, else "default").
func (p *project) namespace(kube *genericclioptions.ConfigFlags, env string) (string, error) {
	if p.config != nil && (kube.Namespace == nil || *kube.Namespace == "") {
		ns, err := p.config.Namespace("", env)
		if err != nil {
			return "", exitcode.Wrap(exitcode.CodeUsage, err)
		}
		return ns, nil
	}
	ns, err := namespaceOf(kube)
	if err != nil {
		return "", err
	}
	if p.config != nil {
		if err := werfproject.ValidateNamespace(ns); err != nil {
			return "", exitcode.Usage("namespace %q: %v", ns, err)
		}
	}
	return ns, nil
}
