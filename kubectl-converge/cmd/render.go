package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
)

// RenderOptions are the flags and arguments of "kubectl converge render [CHART]".
type RenderOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	cliutil.DeployFlags
	cliutil.GitFlags
	cliutil.ProjectFlags

	// KubeVersion is reported as .Capabilities.KubeVersion; empty means Helm's default.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions.
	APIVersions []string
	// ShowOnly keeps only the objects rendered from these templates.
	ShowOnly []string

	inputs inputs.Inputs
}

func newRenderCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &RenderOptions{kube: kube, IOStreams: streams}
	cmd := subcommand("render [CHART]", "Print the manifests converge would apply, without a cluster", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(cmd)
		})
	cmd.Long = `Render the chart offline exactly as converge would apply it: values, secrets, injected
images, rewritten images and global annotations and labels included, hooks and CRDs too.`
	o.DeployFlags.AddFlags(cmd.Flags())
	addGitFlags(&o.GitFlags, cmd)
	o.ProjectFlags.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.KubeVersion, "kube-version", "", "Kubernetes version for .Capabilities.KubeVersion (default: Helm's)")
	cmd.Flags().StringSliceVarP(&o.APIVersions, "api-versions", "a", nil, "API versions for .Capabilities.APIVersions (can be repeated)")
	cmd.Flags().StringArrayVar(&o.ShowOnly, "show-only", nil, "only show objects rendered from this template, e.g. templates/deployment.yaml (can be repeated)")
	cliutil.MarkWerfCommand(cmd, cliutil.WerfRender)
	return cmd
}

// Complete resolves the chart, the namespace and the inputs.
func (o *RenderOptions) Complete(args []string) error {
	// kubectl's -s is --server, werf render's -s is --show-only: render uses no server, so a
	// server given to it is werf's -s read as kubectl's, not to be ignored.
	if s := o.kube.APIServer; s != nil && *s != "" {
		return exitcode.Usage("--server %q: render uses no cluster (werf's render -s is --show-only here)", *s)
	}
	var err error
	o.inputs, err = deployInputs(o.kube, &o.DeployFlags, &o.GitFlags, &o.ProjectFlags, args, o.ErrOut)
	return err
}

// Run renders the chart to stdout.
func (o *RenderOptions) Run(cmd *cobra.Command) error {
	prepared, err := inputs.Prepare(o.inputs)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	out, err := helmsdk.Render(cmd.Context(), helmsdk.RenderRequest{
		ReleaseName: prepared.ReleaseName,
		Namespace:   prepared.Namespace,
		Chart:       prepared.Chart,
		Values:      prepared.Values,
		KubeVersion: o.KubeVersion,
		APIVersions: o.APIVersions,
		ShowOnly:    cliutil.ShowOnlyInChart(prepared.ChartPath, o.ShowOnly),
		Transform:   prepared.Transform,
	})
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("render chart %q: %w", prepared.Chart.Name(), err))
	}
	_, err = fmt.Fprint(redact.Unwrap(o.Out), out)
	return err
}
