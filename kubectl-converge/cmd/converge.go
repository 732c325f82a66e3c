package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/deploy"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/track"
)

var convergeExample = templates.Examples(`
	# Install or upgrade the chart in .helm/ of the current git repository
	kubectl converge

	# Install or upgrade a chart directory into a namespace, with values and a built image
	kubectl converge ./chart -n shop -f values-prod.yaml --set replicas=3 --image backend=registry.example.com/shop/backend:1.4.2`)

// ConvergeOptions are the flags and arguments of "kubectl converge [CHART]".
type ConvergeOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	cliutil.DeployFlags
	cliutil.TrackFlags
	cliutil.GitFlags

	// ChartArg is the chart given on the command line; empty means locate it.
	ChartArg string
	// Timeout bounds the whole deploy.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int
	// NoCreateNamespace leaves a missing release namespace missing (and the deploy failing).
	NoCreateNamespace bool
	// Output is "text" (progress and NOTES) or "json" (a result document on stdout).
	Output string

	inputs    deploy.Inputs
	trackOpts track.Options
}

func newConvergeCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &ConvergeOptions{kube: kube, IOStreams: streams, Timeout: 5 * time.Minute, HistoryMax: 10, Output: "text"}
	cmd := &cobra.Command{
		Use:   "converge [CHART]",
		Short: "Install or upgrade a Helm chart as a release and wait until it is ready",
		Long: `Install or upgrade a chart as a Helm-compatible release, the way "helm upgrade --install"
does, using kubectl's own connection flags (--kubeconfig, --context, -n, ...).

CHART defaults to .helm/ at the root of the git work tree (werf's layout), else the
current directory when it holds a Chart.yaml.

Exit codes: 0 deployed, 1 error, 3 deploy failed, 4 timed out, 64 bad command line or input.`,
		Example:       convergeExample,
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl converge"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.DeployFlags.AddFlags(cmd.Flags())
	o.TrackFlags.AddFlags(cmd.Flags())
	addGitFlags(&o.GitFlags, cmd)
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "time to wait for the release to become ready")
	cmd.Flags().IntVar(&o.HistoryMax, "history-max", o.HistoryMax, "revisions kept in the release history (0: no limit)")
	cmd.Flags().BoolVar(&o.NoCreateNamespace, "no-create-namespace", false, "do not create the release namespace when it is missing")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: text (NOTES on stdout), or json (JSON lines of the tracking events and a final result on stdout)")
	return cmd
}

// Complete resolves the chart, the namespace and the deploy inputs.
func (o *ConvergeOptions) Complete(args []string) error {
	var err error
	if o.trackOpts, err = o.TrackFlags.Options(); err != nil {
		return err
	}
	o.inputs, err = deployInputs(o.kube, &o.DeployFlags, &o.GitFlags, args, o.ErrOut)
	return err
}

// addGitFlags offers giterminism to kubectl converge: off unless --git-ref is given or the
// repository commits a werf-giterminism.yaml.
func addGitFlags(f *cliutil.GitFlags, cmd *cobra.Command) {
	f.AddFlags(cmd.Flags())
	f.Ref = ""
	cmd.Flags().Lookup("git-ref").DefValue = ""
	cmd.Flags().Lookup("git-ref").Usage = "read the chart and the named files from this commit (giterminism); default: only when the repository commits werf-giterminism.yaml, from HEAD"
}

// deployInputs locates the chart from args, resolves the namespace from kube and turns the
// deploy flags into inputs; dependency downloads report to progress.
func deployInputs(kube *genericclioptions.ConfigFlags, flags *cliutil.DeployFlags, git *cliutil.GitFlags, args []string, progress io.Writer) (deploy.Inputs, error) {
	chartPath, projectDir, err := locateChart(args)
	if err != nil {
		return deploy.Inputs{}, err
	}
	repo, err := giterminism(git, projectDir)
	if err != nil {
		return deploy.Inputs{}, err
	}
	ns, err := namespaceOf(kube)
	if err != nil {
		return deploy.Inputs{}, err
	}
	in, err := flags.Inputs(chartPath, projectDir, ns)
	if err != nil {
		return deploy.Inputs{}, err
	}
	in.Git = repo
	in.DownloadDependencies = repo == nil
	in.Progress = progress
	return in, nil
}

// giterminism opens the repository when the user asked for a commit (--git-ref, --dev) or the
// project commits a giterminism config; nil otherwise.
func giterminism(git *cliutil.GitFlags, projectDir string) (*giterm.Repo, error) {
	if git.Loose {
		return nil, nil
	}
	if git.Ref == "" && !git.Dev {
		if !giterm.HasConfig(projectDir) {
			return nil, nil
		}
		git.Ref = "HEAD"
	}
	return git.Open(projectDir)
}

// locateChart returns the chart path from the optional CHART argument and the project
// directory (git work tree root) for the secret key lookup.
func locateChart(args []string) (chartPath, projectDir string, err error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	explicit := ""
	if len(args) == 1 {
		explicit = args[0]
	}
	chartPath, err = chart.Locate(explicit, cwd)
	if err != nil {
		return "", "", exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return chartPath, chart.ProjectDir(cwd), nil
}

// Validate checks the flag values without touching the cluster.
func (o *ConvergeOptions) Validate() error {
	if o.Timeout <= 0 {
		return exitcode.Usage("--timeout must be positive, got %s", o.Timeout)
	}
	if o.HistoryMax < 0 {
		return exitcode.Usage("--history-max must be 0 (no limit) or more, got %d", o.HistoryMax)
	}
	if o.Output != "text" && o.Output != "json" {
		return exitcode.Usage("--output %q: use text or json", o.Output)
	}
	return nil
}

// Run installs or upgrades the release.
func (o *ConvergeOptions) Run(cmd *cobra.Command) error {
	prepared, err := deploy.Prepare(o.inputs)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	client, err := releaseClient(o.kube, prepared.Namespace, prepared.Transform)
	if err != nil {
		return err
	}
	clients, err := cliutil.TrackClients(o.kube)
	if err != nil {
		return err
	}
	sink := o.TrackFlags.Sink(o.ErrOut, "")
	if o.Output == "json" {
		sink = o.TrackFlags.Sink(o.Out, "json")
	}
	fmt.Fprintf(o.ErrOut, "converge: release %q in namespace %q from chart %s %s, waiting up to %s\n",
		prepared.ReleaseName, prepared.Namespace, prepared.Chart.Name(), prepared.Chart.Version(), o.Timeout)
	res, err := deploy.Converge(cmd.Context(), client, clients, prepared, deploy.ConvergeOptions{
		Timeout:         o.Timeout,
		HistoryMax:      o.HistoryMax,
		CreateNamespace: !o.NoCreateNamespace,
		Track:           o.trackOpts,
		Sink:            sink,
	})
	if o.Output == "json" && res != nil {
		if jerr := json.NewEncoder(o.Out).Encode(map[string]any{"type": "result", "result": res}); jerr != nil && err == nil {
			err = jerr
		}
	}
	if err != nil {
		return fmt.Errorf("converge release %q in namespace %q: %w", prepared.ReleaseName, prepared.Namespace, err)
	}
	fmt.Fprintf(o.ErrOut, "converge: release %q revision %d %s in %s\n", res.Release.Name, res.Release.Revision, res.Release.Status, res.Duration.Round(100*time.Millisecond))
	if o.Output == "json" {
		return nil
	}
	if res.Release.Notes != "" {
		fmt.Fprintln(o.Out, res.Release.Notes)
	}
	return nil
}
