package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
)

// chartOptions are what template and upgrade share: the release, the chart from git and the
// deploy flags.
type chartOptions struct {
	genericiooptions.IOStreams
	cliutil.DeployFlags
	cliutil.GitFlags
	env helmsdk.HelmEnv
}

// prepare reads the chart named by chartArg ("" locates it) from git and prepares the release.
func (o *chartOptions) prepare(release, chartArg string) (*inputs.Prepared, error) {
	in, err := o.inputs(release, chartArg)
	if err != nil {
		return nil, err
	}
	prepared, err := inputs.Prepare(in)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return prepared, nil
}

// inputs locates the chart named by chartArg ("" locates it), opens its repository and turns
// the flags into deploy inputs.
func (o *chartOptions) inputs(release, chartArg string) (inputs.Inputs, error) {
	o.env = helmsdk.FromHelmEnv()
	cwd, err := os.Getwd()
	if err != nil {
		return inputs.Inputs{}, err
	}
	chartPath, err := chart.Locate(chartArg, cwd)
	if err != nil {
		return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	repo, err := o.GitFlags.Open(chart.ProjectDir(cwd))
	if err != nil {
		return inputs.Inputs{}, err
	}
	o.DeployFlags.ReleaseName = release
	in, err := o.DeployFlags.Inputs(chartPath, chart.ProjectDir(cwd), o.env.Namespace, "")
	if err != nil {
		return inputs.Inputs{}, err
	}
	in.Git = repo
	if repo != nil {
		// .Values.werf.commit, as werf gives it from the commit it reads.
		in.Commit = &inject.Commit{Hash: repo.Commit(), Date: repo.CommitTime()}
	}
	in.DownloadDependencies = true
	in.Progress = o.ErrOut
	return in, nil
}

func newTemplateCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &chartOptions{IOStreams: streams}
	var kubeVersion string
	var apiVersions, showOnly []string
	cmd := &cobra.Command{
		Use:           "template [RELEASE] [CHART]",
		Short:         "Render the chart as committed, as helm template does",
		Args:          cobra.MaximumNArgs(2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			release, chartArg := "", ""
			if len(args) > 0 {
				release = args[0]
			}
			if len(args) > 1 {
				chartArg = args[1]
			}
			prepared, err := o.prepare(release, chartArg)
			if err != nil {
				return err
			}
			out, err := helmsdk.Render(cmd.Context(), helmsdk.RenderRequest{
				ReleaseName: prepared.ReleaseName, Namespace: prepared.Namespace, Chart: prepared.Chart, Values: prepared.Values,
				KubeVersion: kubeVersion, APIVersions: apiVersions, ShowOnly: cliutil.ShowOnlyInChart(prepared.ChartPath, showOnly), Transform: prepared.Transform,
			})
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("render chart %q: %w", prepared.Chart.Name(), err))
			}
			_, err = fmt.Fprint(redact.Unwrap(o.Out), out)
			return err
		},
	}
	o.DeployFlags.AddFlags(cmd.Flags())
	o.GitFlags.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&kubeVersion, "kube-version", "", "Kubernetes version for .Capabilities.KubeVersion")
	cmd.Flags().StringSliceVarP(&apiVersions, "api-versions", "a", nil, "API versions for .Capabilities.APIVersions (can be repeated)")
	cmd.Flags().StringArrayVarP(&showOnly, "show-only", "s", nil, "only show objects rendered from this template (can be repeated)")
	cliutil.MarkWerfCommand(cmd, cliutil.WerfRender)
	return cmd
}

func newUpgradeCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &chartOptions{IOStreams: streams}
	var track cliutil.TrackFlags
	var install bool
	flags := cliutil.NewConvergeFlags()
	cmd := &cobra.Command{
		Use:   "upgrade RELEASE [CHART]",
		Short: "Install or upgrade a release from the chart as committed, and track it until it is ready",
		Long: `Deploy the chart as committed in git with the same engine as kubectl converge: values,
werf-compatible secrets, --image, --add-annotation, then tracking of every object with pod logs
and events, failing fast with the reason. The revision records the commit it was deployed from.`,
		Args:          cobra.RangeArgs(1, 2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := track.Options(); err != nil {
				return err
			}
			if err := flags.Validate(); err != nil {
				return err
			}
			chartArg := ""
			if len(args) > 1 {
				chartArg = args[1]
			}
			prepared, err := o.prepare(args[0], chartArg)
			if err != nil {
				return err
			}
			client, err := helmsdk.NewClient(prepared.HelmConfig(o.env.Getter, o.env.Driver))
			if err != nil {
				return err
			}
			if !install {
				if _, err := client.History(prepared.ReleaseName); err != nil {
					return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%w; pass --install to install it", err))
				}
			}
			clients, err := cliutil.TrackClients(o.env.Getter)
			if err != nil {
				return err
			}
			origin := "the file system"
			if prepared.Commit != "" {
				origin = "commit " + prepared.Commit[:12]
			}
			return flags.Converge(cmd.Context(), cliutil.ConvergeRun{
				IOStreams: o.IOStreams, Client: client, Clients: clients, Prepared: prepared, Track: track, Program: "giterm", Origin: origin, Retry: o.env.Retry,
			})
		},
	}
	o.DeployFlags.AddFlags(cmd.Flags())
	o.GitFlags.AddFlags(cmd.Flags())
	track.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&install, "install", "i", false, "install the release when it does not exist")
	flags.AddFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfConverge)
	return cmd
}

func newPlanCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &chartOptions{IOStreams: streams}
	var flags cliutil.PlanFlags
	cmd := &cobra.Command{
		Use:   "plan RELEASE [CHART]",
		Short: "Show what upgrade would change in the cluster, from the chart as committed",
		Long: `Render the chart as committed in git, ask the API server for a dry run of every request
an upgrade would send, and show per object what would be created, updated, recreated or deleted
(Secret values hidden unless --show-sensitive). --exit-code exits 2 when anything would change.`,
		Args:          cobra.RangeArgs(1, 2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flags.Validate(); err != nil {
				return err
			}
			prepared, err := o.prepare(args[0], firstArg(args[1:]))
			if err != nil {
				return err
			}
			client, err := helmsdk.NewClient(prepared.HelmConfig(o.env.Getter, o.env.Driver))
			if err != nil {
				return err
			}
			return flags.Plan(cmd.Context(), o.IOStreams, client, prepared)
		},
	}
	o.DeployFlags.AddFlags(cmd.Flags())
	o.GitFlags.AddFlags(cmd.Flags())
	flags.AddFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfPlan)
	return cmd
}
