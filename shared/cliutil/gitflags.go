package cliutil

import (
	"github.com/spf13/pflag"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
)

// GitFlags choose where a chart is read from: a commit (the default), the working tree
// (--dev) or plain files (--loose-giterminism).
type GitFlags struct {
	Ref   string
	Dev   bool
	Loose bool
	// Config is --giterminism-config: the giterminism config relative to the project
	// directory; "" is werf-giterminism.yaml there.
	Config string
}

// AddFlags registers the flags on fs.
func (f *GitFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Ref, "git-ref", "HEAD", "commit, branch or tag to read the chart and the named files from")
	fs.BoolVar(&f.Dev, "dev", false, "read the working tree, uncommitted and untracked (not ignored) files included")
	fs.BoolVar(&f.Loose, "loose-giterminism", false, "read plain files from the file system, with no git checks at all")
	fs.StringVar(&f.Config, "giterminism-config", "", "giterminism config, relative to the project directory (default werf-giterminism.yaml there), read from the commit")
}

// Open opens the repository holding the project directory dir in the chosen mode, with its
// giterminism config; nil with --loose-giterminism.
func (f *GitFlags) Open(dir string) (*giterm.Repo, error) {
	if f.Dev && f.Loose {
		return nil, exitcode.Usage("--dev and --loose-giterminism cannot be combined")
	}
	mode := giterm.ModeStrict
	switch {
	case f.Loose:
		return nil, nil
	case f.Dev:
		mode = giterm.ModeDev
	}
	repo, err := giterm.Open(dir, f.Ref, mode, f.Config)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return repo, nil
}
