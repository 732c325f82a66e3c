// Package cliutil is cobra glue shared by the cmd packages of both plugins. Domain packages
// under shared/ never import it (nor cobra).
package cliutil

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	runtimedebug "runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/clientlog"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/version"
)

// SetUsageErrors makes cobra's flag and argument errors exit with exitcode.CodeUsage.
func SetUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	})
	usageArgs(root)
}

// usageArgs makes a wrong number of arguments a usage error (exit 64) that shows the usage
// line, in cmd and every subcommand: cobra's own says only "accepts at most 1 arg(s)".
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return exitcode.Usage("%v: usage: %s", err, c.UseLine())
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
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

// Main runs the root command built by newRoot with the process's standard streams, cancels
// its context on SIGINT or SIGTERM, prints the error (if any) as one line on stderr and exits
// with the error's exit code.
func Main(newRoot func(genericiooptions.IOStreams) *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Everything printed goes through the redactor: secrets found while deploying never
	// reach the terminal, a CI log or a JSON consumer.
	stderr := redact.NewWriter(os.Stderr)
	// The client libraries print nothing raw: klog and the API server's warnings go through
	// clientlog to the printers (and, in debug mode, to stderr through the redactor); Helm's
	// and Go's own log lines through the redactor.
	var debug io.Writer
	if debugWanted() {
		debug = stderr
	}
	clientlog.Install(debug, stderr)
	log.SetOutput(stderr)
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))
	// A panic, of the command's goroutine, of any started with redact.Go or by the client
	// library (informers, watches), is printed through the redactor too: its value may quote
	// what the run was handling.
	internalError := func(r any, stack []byte) {
		fmt.Fprintf(stderr, "Error: internal error (please report it): %v\n%s", r, stack)
		os.Exit(int(exitcode.CodeError))
	}
	redact.OnPanic(internalError)
	redact.CatchClientPanics()
	defer func() {
		if r := recover(); r != nil {
			internalError(r, runtimedebug.Stack())
		}
	}()
	stopProfile := startCPUProfile(stderr)
	code := Execute(ctx, newRoot, os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: redact.NewWriter(os.Stdout), ErrOut: stderr}, os.Environ(), debug != nil)
	stopProfile()
	stop()
	os.Exit(code)
}

// Execute runs the command line args on the root command newRoot builds, with the werf
// environment in environ applied, prints the error as Main does and returns the exit code.
// Main calls it after installing the process-wide logging; the command tests call it
// in-process.
func Execute(ctx context.Context, newRoot func(genericiooptions.IOStreams) *cobra.Command, args []string, streams genericiooptions.IOStreams, environ []string, debug bool) int {
	root := newRoot(streams)
	root.SetArgs(args)
	addRootFlags(root, debug)
	// Help and usage go to the streams too (cobra writes them to os.Stdout otherwise).
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	removeKubeconfig := func() {}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		removeKubeconfig, err = ApplyWerfEnvironment(cmd.Flags(), werfCommandOf(cmd), environ, streams.ErrOut)
		if on, _ := cmd.Flags().GetBool("debug"); on {
			clientlog.SetDebug(streams.ErrOut)
		}
		return err
	}
	err := root.ExecuteContext(ctx)
	removeKubeconfig()
	if err != nil && !exitcode.IsQuiet(err) {
		fmt.Fprintf(streams.ErrOut, "Error: %v\n", err)
	}
	return int(exitcode.Of(err))
}

// addRootFlags gives root the flags every command has: --debug, and werf's names
// (AddWerfFlags).
func addRootFlags(root *cobra.Command, debug bool) {
	root.PersistentFlags().Bool("debug", debug, "print the client libraries' own log lines (redacted) on stderr; also KUBECTL_CONVERGE_DEBUG=1, or HELM_DEBUG for helm giterm")
	AddWerfFlags(root)
}

func debugWanted() bool {
	for _, name := range []string{"KUBECTL_CONVERGE_DEBUG", "HELM_DEBUG"} {
		if v := os.Getenv(name); v == "1" || strings.EqualFold(v, "true") {
			return true
		}
	}
	return false
}

// startCPUProfile writes a CPU profile of the run to KUBECTL_CONVERGE_CPUPROFILE, if set: the
// benchmarks' way to see where a run spends its time.
func startCPUProfile(stderr io.Writer) (stop func()) {
	path := os.Getenv("KUBECTL_CONVERGE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "warning: KUBECTL_CONVERGE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "warning: KUBECTL_CONVERGE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
