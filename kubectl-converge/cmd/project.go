package cmd

import (
	"os"
	"path/filepath"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/werfproject"
)

// project is what a command knows of the project around the current directory: its root
// (the git work tree, else the current directory), werf.yaml when there is one, and the
// commit the chart is read from.
type project struct {
	dir    string
	config *werfproject.Config
	commit *inject.Commit
}

// openProject reads werf.yaml of the project holding the current directory: from the commit
// when repo reads the chart from one (giterminism), else from the file system.
func openProject(repo *giterm.Repo, env string) (*project, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	p := &project{dir: chart.ProjectDir(cwd)}
	opts := werfproject.LoadOptions{Dir: p.dir, Env: env}
	if repo != nil {
		opts.Read, opts.EnvAllowed = repo.File, repo.EnvAllowed
		p.commit = &inject.Commit{Hash: repo.Commit(), Date: repo.CommitTime()}
	} else if hash, when, ok := giterm.HeadCommit(p.dir); ok {
		p.commit = &inject.Commit{Hash: hash, Date: when}
	}
	if p.config, err = werfproject.Load(opts); err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return p, nil
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
