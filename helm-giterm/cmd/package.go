package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/inputs"
)

// committedChartDir writes the chart as committed (or as --dev/--loose read it) into a
// temporary directory, for the Helm actions that read directories; cleanup removes it. commit is
// the commit it was read from, nil outside git.
func committedChartDir(git *cliutil.GitFlags, chartArg string, forLint bool) (dir string, commit *inject.Commit, cleanup func(), err error) {
	cleanup = func() {}
	cwd, err := os.Getwd()
	if err != nil {
		return "", nil, cleanup, err
	}
	chartPath, err := chart.Locate(chartArg, cwd)
	if err != nil {
		return "", nil, cleanup, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	repo, err := git.Open(chart.ProjectDir(cwd))
	if err != nil {
		return "", nil, cleanup, err
	}
	var files map[string][]byte
	if repo != nil {
		commit = &inject.Commit{Hash: repo.Commit(), Date: repo.CommitTime()}
		files, err = repo.ChartFiles(chartPath)
	} else if info, serr := os.Stat(chartPath); serr != nil || !info.IsDir() {
		// A packaged chart (or nothing): Helm reads archives without following links.
		return chartPath, nil, cleanup, nil
	} else {
		// --loose-giterminism: our loader, which keeps symlinks inside the project (Helm's
		// follows them anywhere, /proc/self/environ included).
		files, err = charts.ReadChartDir(chartPath)
	}
	if err != nil {
		return "", nil, cleanup, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	tmp, err := os.MkdirTemp("", "giterm-chart-")
	if err != nil {
		return "", nil, cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	abs, _ := filepath.Abs(chartPath)
	if !forLint {
		dir, err = charts.WriteChartDir(tmp, filepath.Base(abs), files)
		return dir, commit, cleanup, err
	}
	// Lint renders the templates: werf_secret_file must exist, its content does not matter.
	ch, err := charts.LoadChartFiles(chartPath, files)
	if err != nil {
		return "", nil, cleanup, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	secretFiles := map[string][]byte{}
	for name, data := range ch.FilesUnder(inputs.SecretFilesDir) {
		secretFiles[strings.TrimPrefix(name, inputs.SecretFilesDir+"/")] = data
	}
	ch.ProvideSecretFiles(secretFiles)
	dir, err = charts.SaveChartDir(ch, tmp)
	return dir, commit, cleanup, err
}

// firstArg is the optional CHART argument, "" when absent.
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func newLintCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var git cliutil.GitFlags
	var strict bool
	cmd := &cobra.Command{
		Use:           "lint [CHART]",
		Short:         "Lint the chart as committed, as helm lint does",
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(_ *cobra.Command, args []string) error {
			dir, commit, cleanup, err := committedChartDir(&git, firstArg(args), true)
			defer cleanup()
			if err != nil {
				return err
			}
			// Charts written for werf read its service values; lint renders with them, empty,
			// decided and fitted as a deploy decides them: a Helm chart gets none.
			ch, err := charts.LoadChart(dir)
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, err)
			}
			service, err := inputs.Inputs{Namespace: helmsdk.FromHelmEnv().Namespace, Commit: commit}.ServiceValues(ch)
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, err)
			}
			messages, err := charts.Lint(dir, service, strict)
			for _, m := range messages {
				fmt.Fprintln(streams.Out, m)
			}
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, err)
			}
			if commit != nil {
				fmt.Fprintf(streams.ErrOut, "giterm: chart at commit %s linted, no failures\n", commit.Hash[:12])
			}
			return nil
		},
	}
	git.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on lint warnings too")
	return cmd
}

func newPackageCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var git cliutil.GitFlags
	dest := "."
	cmd := &cobra.Command{
		Use:           "package [CHART]",
		Short:         "Package the chart as committed into NAME-VERSION.tgz",
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(_ *cobra.Command, args []string) error {
			dir, _, cleanup, err := committedChartDir(&git, firstArg(args), false)
			defer cleanup()
			if err != nil {
				return err
			}
			out, err := charts.Package(dir, dest)
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, err)
			}
			fmt.Fprintf(streams.Out, "Successfully packaged chart and saved it to: %s\n", out)
			return nil
		},
	}
	git.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&dest, "destination", "d", dest, "directory to write the chart archive to")
	return cmd
}
