// Package cmd holds the commands of kubectl converge: each file builds one command from its
// options, and each command's Run hands a typed request to a package under shared/.
package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
)

// NewCmdConverge builds the root command, "kubectl converge [CHART]", with its subcommands.
func NewCmdConverge(streams genericiooptions.IOStreams) *cobra.Command {
	root := newConvergeCommand(streams)
	root.AddCommand(cliutil.NewVersionCommand(streams, "kubectl converge", "kubectl-converge"))
	cliutil.SetUsageErrors(root)
	return root
}
