package cmd

import (
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/kuberetry"
)

var convergeExample = templates.Examples(`
	# Install or upgrade the chart in .helm/ of the current git repository
	kubectl converge

	# Install or upgrade a chart directory into a namespace, with values and a built image
	kubectl converge ./chart -n shop -f values-prod.yaml --set replicas=3 --image backend=registry.example.com/shop/backend:1.4.2`)

// ConvergeOptions are the flags and arguments of "kubectl converge [CHART]".
type ConvergeOptions struct {
	kube  *genericclioptions.ConfigFlags
	retry *kuberetry.Policy
	genericiooptions.IOStreams
	cliutil.DeployFlags
	cliutil.TrackFlags
	cliutil.GitFlags
	cliutil.ConvergeFlags
	cliutil.ProjectFlags

	inputs inputs.Inputs
}

func newConvergeCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, retry *kuberetry.Policy) *cobra.Command {
	o := &ConvergeOptions{kube: kube, retry: retry, IOStreams: streams, ConvergeFlags: cliutil.NewConvergeFlags()}
	cmd := &cobra.Command{
		// The binary's name, so that completion scripts complete it; help and errors show
		// "kubectl converge".
		Use:   "kubectl-converge [CHART]",
		Short: "Install or upgrade a Helm chart as a release and wait until it is ready",
		Long: `Install or upgrade a chart as a Helm-compatible release, the way "helm upgrade --install"
does, using kubectl's own connection flags (--kubeconfig, --context, -n, ...).

CHART defaults to .helm/ at the root of the git work tree (werf's layout), else the
current directory when it holds a Chart.yaml.

Objects are applied in werf.io/weight groups, lowest first, each group tracked until ready
before the next; werf.io/deploy-dependency-* and *.external-dependency.werf.io annotations make
an object wait for others. One deploy of a release runs at a time (a Lease in the release
namespace); a revision left pending by an interrupted run is recovered.

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
	o.ProjectFlags.AddFlags(cmd.Flags())
	o.ConvergeFlags.AddFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfConverge)
	return cmd
}

// Complete resolves the chart, the namespace and the deploy inputs.
func (o *ConvergeOptions) Complete(args []string) error {
	if _, err := o.TrackFlags.Options(); err != nil {
		return err
	}
	var err error
	o.inputs, err = deployInputs(o.kube, &o.DeployFlags, &o.GitFlags, &o.ProjectFlags, args, o.ErrOut)
	return err
}

// addGitFlags offers giterminism to kubectl converge: on in a werf project, off for a plain
// chart unless --git-ref is given (see giterminism).
func addGitFlags(f *cliutil.GitFlags, cmd *cobra.Command) {
	f.AddFlags(cmd.Flags())
	f.Ref = ""
	cmd.Flags().Lookup("git-ref").DefValue = ""
	cmd.Flags().Lookup("git-ref").Usage = "read the chart and the named files from this commit (giterminism); default: HEAD when the repository commits werf.yaml or werf-giterminism.yaml, else the file system"
}

// deployInputs locates the chart from args (or the werf project), resolves the namespace
// from kube (or werf.yaml) and turns the deploy flags into inputs; dependency downloads
// report to progress.
func deployInputs(kube *genericclioptions.ConfigFlags, flags *cliutil.DeployFlags, git *cliutil.GitFlags, projectFlags *cliutil.ProjectFlags, args []string, progress io.Writer) (inputs.Inputs, error) {
	p, err := openProject(projectFlags, git, flags.Env)
	if err != nil {
		return inputs.Inputs{}, err
	}
	chartPath, err := p.chartPath(args)
	if err != nil {
		return inputs.Inputs{}, err
	}
	ns, err := p.namespace(kube, flags.Env)
	if err != nil {
		return inputs.Inputs{}, err
	}
	projectName := ""
	if p.config != nil {
		projectName = p.config.Project
	}
	in, err := flags.Inputs(chartPath, p.dir, ns, projectName)
	if err != nil {
		return inputs.Inputs{}, err
	}
	in.Project, in.Commit = p.config, p.commitOf(chartPath)
	in.Git = p.repo
	in.DownloadDependencies = true
	in.Progress = progress
	return in, nil
}

// giterminism opens the repository when the user asked for a commit (--git-ref, --dev), or
// the project is a werf project whose werf.yaml (werfConfigs: the paths it may have) is
// committed, or the project commits a giterminism config: werf reads a project from its
// commit unless told otherwise (--dev, --loose-giterminism), and so does converge. A plain
// chart is read from the file system, as helm reads it. nil when the file system is read.
func giterminism(git *cliutil.GitFlags, projectDir string, werfConfigs ...string) (*giterm.Repo, error) {
	if git.Loose {
		return nil, nil
	}
	if git.Ref == "" && !git.Dev {
		if !giterm.HasConfig(projectDir, git.Config) && !giterm.Commits(projectDir, werfConfigs...) {
			return nil, nil
		}
		git.Ref = "HEAD"
	}
	return git.Open(projectDir)
}

// Validate checks the flag values without touching the cluster.
func (o *ConvergeOptions) Validate() error {
	return o.ConvergeFlags.Validate()
}

// Run installs or upgrades the release.
func (o *ConvergeOptions) Run(cmd *cobra.Command) error {
	prepared, err := inputs.Prepare(o.inputs)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	client, err := helmsdk.NewClient(prepared.HelmConfig(o.kube, os.Getenv("HELM_DRIVER")))
	if err != nil {
		return err
	}
	clients, err := cliutil.TrackClients(o.kube)
	if err != nil {
		return err
	}
	return o.ConvergeFlags.Converge(cmd.Context(), cliutil.ConvergeRun{
		IOStreams: o.IOStreams, Client: client, Clients: clients, Prepared: prepared, Track: o.TrackFlags, Program: "converge", Retry: o.retry,
	})
}
