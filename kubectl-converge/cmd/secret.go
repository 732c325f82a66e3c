package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/secrets"
)

// SecretOptions are the flags shared by the "kubectl converge secret" commands.
type SecretOptions struct {
	genericiooptions.IOStreams
	// KeyFile is --secret-key-file; empty means werf's key lookup.
	KeyFile string
	// Mode is "values" (encrypt each YAML leaf), "file" (encrypt the whole file) or "auto":
	// file for paths under a secret/ directory, values otherwise.
	Mode string
	// OutputFile receives the result; empty means stdout (or the file itself for edit).
	OutputFile string
}

func newSecretCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &SecretOptions{IOStreams: streams, Mode: "auto"}
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage werf-compatible encrypted values files and secret files",
		Long: `Encrypted values files (secret-values.yaml, --secret-values) keep keys plain and encrypt
each value; files under the chart's secret/ directory are encrypted whole. Both use werf's
format, so werf and kubectl converge read each other's files. The key is looked up in
--secret-key-file, $WERF_SECRET_KEY, .werf_secret_key at the git work tree root and
~/.werf/global_secret_key, in that order.`,
	}
	cmd.PersistentFlags().StringVar(&o.KeyFile, "secret-key-file", "", "file holding the secret key")
	transform := func(use, short string, encrypt bool) *cobra.Command {
		c := subcommand(use, short, cobra.MaximumNArgs(1), func(_ *cobra.Command, args []string) error { return o.runTransform(args, encrypt) })
		c.Flags().StringVar(&o.Mode, "mode", o.Mode, "values, file or auto (file under a secret/ directory, values otherwise)")
		c.Flags().StringVarP(&o.OutputFile, "output-file", "o", "", "write to this file instead of stdout")
		return c
	}
	edit := subcommand("edit FILE", "Decrypt a file into $EDITOR and encrypt it again on save; unchanged values keep their ciphertext", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) error { return o.runEdit(cmd.Context(), args[0]) })
	edit.Flags().StringVar(&o.Mode, "mode", o.Mode, "values, file or auto (file under a secret/ directory, values otherwise)")
	rotate := &RotateKeyOptions{SecretOptions: o}
	rotateCmd := subcommand("rotate-key [EXTRA_FILE...]", "Re-encrypt the chart's secret-values.yaml, secret/ files and EXTRA_FILEs with a new key", cobra.ArbitraryArgs,
		func(_ *cobra.Command, args []string) error { return rotate.Run(args) })
	rotateCmd.Flags().StringVar(&rotate.OldKeyFile, "old-key-file", "", "file holding the old key (default: $WERF_OLD_SECRET_KEY)")
	rotateCmd.Flags().StringVar(&rotate.ChartDir, "chart", "", "chart directory (default: located as converge does)")
	addGitFlags(&rotate.GitFlags, rotateCmd)
	cmd.AddCommand(
		subcommand("generate-key", "Print a new random secret key (AES-128, hex)", cobra.NoArgs, func(*cobra.Command, []string) error {
			key, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(o.Out, key)
			return err
		}),
		transform("encrypt [FILE]", "Encrypt a values file or a file (FILE or stdin)", true),
		transform("decrypt [FILE]", "Decrypt a values file or a file (FILE or stdin)", false),
		edit,
		rotateCmd,
	)
	return cmd
}

func (o *SecretOptions) cipher() (*secrets.Cipher, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	c, err := secrets.KeySource{File: o.KeyFile, ProjectDir: chart.ProjectDir(cwd)}.Load()
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return c, nil
}

func (o *SecretOptions) wholeFile(path string) (bool, error) {
	switch o.Mode {
	case "file":
		return true, nil
	case "values":
		return false, nil
	case "auto":
		return secrets.InFilesDir(path), nil
	default:
		return false, exitcode.Usage("--mode %q: use values, file or auto", o.Mode)
	}
}

func (o *SecretOptions) runTransform(args []string, encrypt bool) error {
	path := "-"
	if len(args) == 1 {
		path = args[0]
	}
	whole, err := o.wholeFile(path)
	if err != nil {
		return err
	}
	var data []byte
	if path == "-" {
		data, err = io.ReadAll(o.In)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	c, err := o.cipher()
	if err != nil {
		return err
	}
	var out []byte
	if encrypt {
		out, err = c.EncryptFile(data, whole, nil)
	} else {
		out, err = c.DecryptFile(data, whole)
	}
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: %w", displayPath(path), err))
	}
	if o.OutputFile != "" {
		return os.WriteFile(o.OutputFile, out, 0o600)
	}
	_, err = o.Out.Write(out)
	return err
}

func displayPath(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}

func (o *SecretOptions) runEdit(ctx context.Context, path string) error {
	whole, err := o.wholeFile(path)
	if err != nil {
		return err
	}
	c, err := o.cipher()
	if err != nil {
		return err
	}
	encrypted, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	plain, err := c.DecryptFile(encrypted, whole)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: %w", path, err))
	}
	tmp, err := editFile(filepath.Ext(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(plain); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	fields := strings.Fields(editor)
	// SIGINT/SIGTERM end the editor too, so that the plaintext is removed on the way out.
	run := exec.CommandContext(ctx, fields[0], append(fields[1:], tmp.Name())...)
	run.Stdin, run.Stdout, run.Stderr = o.In, o.Out, o.ErrOut
	if err := run.Run(); err != nil {
		return fmt.Errorf("editor %q: %w; %s is unchanged", editor, err, path)
	}
	edited, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	if bytes.Equal(edited, plain) {
		fmt.Fprintf(o.ErrOut, "secret edit: %s unchanged\n", path)
		return nil
	}
	out, err := c.EncryptFile(edited, whole, encrypted)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: the edited content is not valid: %w; the file is unchanged", path, err))
	}
	return os.WriteFile(path, out, 0o600)
}

// editDir holds the plaintext copies of secret edit: private to the user, and swept of the
// copies of runs that were killed (SIGKILL leaves no chance to remove them).
func editDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-converge-secret-edit-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		pidText, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || !processAlive(pid) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return dir, nil
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

// editFile creates the plaintext copy of one secret edit, named after this process.
func editFile(ext string) (*os.File, error) {
	dir, err := editDir()
	if err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, fmt.Sprintf("%d-*%s", os.Getpid(), ext))
}

// RotateKeyOptions are the flags of "kubectl converge secret rotate-key".
type RotateKeyOptions struct {
	*SecretOptions
	// OldKeyFile holds the key the files are encrypted with now; empty means $WERF_OLD_SECRET_KEY.
	OldKeyFile string
	// ChartDir is the chart whose secrets are rotated; empty means located as converge does
	// (werf.yaml's deploy.helmChartDir read as converge reads it, GitFlags deciding whence).
	ChartDir string
	cliutil.GitFlags
}

// Run decrypts every secret of the chart (and extra files) with the old key and encrypts
// them with the new one (secrets.Rotate: a wrong old key changes nothing).
func (o *RotateKeyOptions) Run(extra []string) error {
	oldKey, err := secrets.OldKey(o.OldKeyFile, nil)
	if err != nil {
		return err
	}
	newKey, err := o.cipher()
	if err != nil {
		return err
	}
	chartDir := o.ChartDir
	if chartDir == "" {
		p, err := openProject(nil, &o.GitFlags, "")
		if err != nil {
			return err
		}
		if chartDir, err = p.chartPath(nil); err != nil {
			return err
		}
	}
	files := secrets.ChartFiles(chartDir)
	for _, f := range extra {
		files[f] = secrets.InFilesDir(f)
	}
	rotated, err := secrets.Rotate(files, oldKey, newKey)
	for _, path := range rotated {
		fmt.Fprintf(o.ErrOut, "secret rotate-key: %s re-encrypted\n", path)
	}
	return err
}

func subcommand(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:           use,
		Short:         short,
		Args:          args,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          run,
	}
}
