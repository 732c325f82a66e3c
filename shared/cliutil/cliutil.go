// Package cliutil is cobra glue shared by the cmd packages of both plugins. Domain packages
// under shared/ never import it (nor cobra).
package cliutil

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/version"
)

// SetUsageErrors makes cobra's flag and argument errors exit with exitcode.CodeUsage.
func SetUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	})
}

// NewVersionCommand builds the "version" subcommand of the plugin shown to users as displayName.
func NewVersionCommand(streams genericiooptions.IOStreams, displayName, program string) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date of " + displayName,
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return exitcode.Wrap(exitcode.CodeUsage, version.Write(streams.Out, program, output))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
