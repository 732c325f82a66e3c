// Package cmd holds the commands of kubectl converge: each file builds one command from its
// options, and each command's Run hands a typed request to a package under shared/.
package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/kuberetry"
)

// NewCmdConverge builds the root command, "kubectl converge [CHART]", with its subcommands.
// kubectl's connection flags (--kubeconfig, --context, -n, ...) are shared by all of them.
func NewCmdConverge(streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdConverge(streams, kuberetry.NewPolicy())
}

// newCmdConverge is NewCmdConverge with the clients' retry policy (tests give one whose
// clock does not wait).
func newCmdConverge(streams genericiooptions.IOStreams, retry *kuberetry.Policy) *cobra.Command {
	limit := &kuberetry.RateLimit{}
	kube := kuberetry.Resilient(genericclioptions.NewConfigFlags(true), limit, retry)
	root := newConvergeCommand(streams, kube, retry)
	kube.AddFlags(root.PersistentFlags())
	limit.AddFlags(root.PersistentFlags())
	root.PersistentFlags().String("kube-config-base64", "", "kubeconfig as base64, instead of --kubeconfig (werf's flag; also WERF_KUBE_CONFIG_BASE64)")
	root.AddCommand(
		newRenderCommand(streams, kube),
		newPlanCommand(streams, kube),
		newDismissCommand(streams, kube),
		newHistoryCommand(streams, kube),
		newRollbackCommand(streams, kube, retry),
		newTrackCommand(streams, kube),
		newSecretCommand(streams),
		cliutil.NewVersionCommand(streams, "kubectl converge", "kubectl-converge"),
	)
	cliutil.SetUsageErrors(root)
	return root
}

// namespaceOf resolves the namespace exactly as kubectl does: -n, else the context's, else
// "default".
func namespaceOf(kube *genericclioptions.ConfigFlags) (string, error) {
	ns, _, err := kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("resolve the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// releaseClient connects the release layer to the cluster of kube in namespace ns (a
// prepared chart's client is made from its HelmConfig, which carries the transform's key).
func releaseClient(kube *genericclioptions.ConfigFlags, ns string, transform helmsdk.Transform) (*helmsdk.Client, error) {
	return helmsdk.NewClient(helmsdk.Config{Getter: kube, Namespace: ns, Driver: os.Getenv("HELM_DRIVER"), Transform: transform})
}
