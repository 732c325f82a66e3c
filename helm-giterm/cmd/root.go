// Package cmd holds the commands of the Helm plugin "helm giterm". Helm strips its global
// flags (-n, --kube-context, --kubeconfig, ...) before calling the plugin and passes them as
// HELM_* environment variables, which helmsdk.FromHelmEnv reads.
package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
)

// NewCmdGiterm builds the root command, "helm giterm", with its subcommands.
func NewCmdGiterm(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "helm-giterm",
		Short: "Deploy charts exactly as committed in git (giterminism) and ship them as OCI bundles",
		Long: `helm giterm loads charts from a git commit instead of the working tree, so what is
deployed is exactly what is committed, and publishes and applies charts as OCI bundles.

Uncommitted or untracked changes under the chart or to the files named with --values,
--secret-values and --set-file stop the command with an error naming each file. --dev reads
the working tree instead, --loose-giterminism reads plain files. werf's werf-giterminism.yaml
(helm.allowUncommittedFiles) is honoured, read from the commit.

Helm's global flags (-n/--namespace, --kube-context, --kubeconfig, ...) work as usual.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "helm giterm"},
	}
	root.AddCommand(
		newTemplateCommand(streams),
		newUpgradeCommand(streams),
		newPlanCommand(streams),
		newBundlePublishCommand(streams),
		newBundleApplyCommand(streams),
		newBundlePlanCommand(streams),
		newBundleRenderCommand(streams),
		newBundleCopyCommand(streams),
		newLintCommand(streams),
		newPackageCommand(streams),
		cliutil.NewVersionCommand(streams, "helm giterm", "helm-giterm"),
	)
	cliutil.SetUsageErrors(root)
	return root
}
