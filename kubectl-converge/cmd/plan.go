package cmd

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
)

// PlanOptions are the flags and arguments of "kubectl converge plan [CHART]".
type PlanOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	cliutil.DeployFlags
	cliutil.GitFlags
	cliutil.ProjectFlags
	cliutil.PlanFlags

	inputs inputs.Inputs
}

func newPlanCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &PlanOptions{kube: kube, IOStreams: streams}
	cmd := subcommand("plan [CHART]", "Show what converge would change in the cluster, without changing it", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.PlanFlags.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		})
	cmd.Long = `Render the chart as converge would, ask the API server for a dry run of every request
converge would send (so defaults and admission are included), and show per object what would be
created, updated, recreated or deleted, as a unified diff of the live object and the planned one.
Fields the API server sets are hidden unless --show-insignificant; Secret values and the paths of
werf.io/sensitive-paths show as <hidden> unless --show-sensitive.

--save-plan FILE keeps what was reviewed; "kubectl converge --use-plan FILE" then applies exactly
that, and refuses when the release, its live objects or the rendered chart moved since.

Exit codes with --exit-code: 0 no changes, 2 changes planned, 1 error.`
	o.DeployFlags.AddFlags(cmd.Flags())
	addGitFlags(&o.GitFlags, cmd)
	o.ProjectFlags.AddFlags(cmd.Flags())
	o.PlanFlags.AddFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfPlan)
	return cmd
}

// Complete resolves the chart, the namespace and the inputs.
func (o *PlanOptions) Complete(args []string) error {
	var err error
	o.inputs, err = deployInputs(o.kube, &o.DeployFlags, &o.GitFlags, &o.ProjectFlags, args, o.ErrOut)
	return err
}

// Run prints the plan.
func (o *PlanOptions) Run(cmd *cobra.Command) error {
	prepared, err := inputs.Prepare(o.inputs)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	client, err := helmsdk.NewClient(prepared.HelmConfig(o.kube, os.Getenv("HELM_DRIVER")))
	if err != nil {
		return err
	}
	return o.PlanFlags.Plan(cmd.Context(), o.IOStreams, client, prepared)
}
