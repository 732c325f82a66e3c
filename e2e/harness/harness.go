// Package harness runs end-to-end tests against the local cluster: it starts the cluster once
// per test run (or reuses a running one), gives each test its own namespace, and runs the
// real binaries (kubectl converge, helm giterm, kubectl, helm 3 and 4) with a cleared
// environment, capturing their output.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Env is the environment every test of a run shares.
type Env struct {
	// RepoRoot is the root of this repository.
	RepoRoot string
	// PluginBin holds the freshly built kubectl-converge and helm-giterm.
	PluginBin string
	// ToolsBin holds the pinned kubectl, helm3, helm4, kwokctl and the control plane.
	ToolsBin string
	// Kubeconfig points at the local cluster.
	Kubeconfig string

	startedCluster bool
}

var shared *Env

// Main is called from TestMain: it builds the plugins, brings the cluster up, runs the tests
// and stops the cluster again if this run started it.
func Main(m *testing.M) {
	env, err := setUp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e setup: %v\n", err)
		os.Exit(1)
	}
	shared = env
	code := m.Run()
	if env.startedCluster && os.Getenv("CONVERGE_KEEP_CLUSTER") == "" {
		if out, err := env.clusterScript("down"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e teardown: %v\n%s", err, out)
			code = 1
		}
	}
	os.Exit(code)
}

// Get returns the environment prepared by Main.
func Get(t testing.TB) *Env {
	t.Helper()
	if shared == nil {
		t.Fatal("harness.Main was not called from TestMain")
	}
	return shared
}

func setUp() (*Env, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	env := &Env{RepoRoot: root, PluginBin: filepath.Join(root, "bin")}

	build := exec.Command("make", "-s", "build")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("make build: %w\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(root, "tools", "build-tools.sh")).Output()
	if err != nil {
		return nil, fmt.Errorf("build tools: %w", err)
	}
	env.ToolsBin = strings.TrimSpace(string(out))

	_, statusErr := env.clusterScript("status")
	// "up" reuses a running cluster of the same configuration and restarts one of another.
	if out, err := env.clusterScript("up"); err != nil {
		return nil, fmt.Errorf("start cluster: %w\n%s", err, out)
	}
	env.startedCluster = statusErr != nil
	vars, err := env.clusterScript("env")
	if err != nil {
		return nil, fmt.Errorf("cluster env: %w", err)
	}
	m := regexp.MustCompile(`export KUBECONFIG=(\S+)`).FindStringSubmatch(vars)
	if m == nil {
		return nil, fmt.Errorf("cluster.sh env printed no KUBECONFIG: %q", vars)
	}
	env.Kubeconfig = m[1]
	return env, nil
}

// RestartAPIServer kills kube-apiserver of the local cluster and starts it again; the test
// must hold a cluster of its own (OwnCluster).
func (e *Env) RestartAPIServer(t testing.TB) {
	t.Helper()
	OwnCluster(t)
	if out, err := e.clusterScript("restart-apiserver"); err != nil {
		t.Fatalf("restart kube-apiserver: %v\n%s", err, out)
	}
}

func (e *Env) clusterScript(arg string) (string, error) {
	cmd := exec.Command(filepath.Join(e.RepoRoot, "tools", "cluster.sh"), arg)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if arg == "env" {
		cmd.Stderr = nil
	}
	err := cmd.Run()
	return out.String(), err
}

// Result is what a finished command printed and how it exited.
type Result struct {
	Stdout   string
	Stderr   string
	ExitCode int
}

// Combined is stdout followed by stderr, for assertions that do not care which stream.
func (r Result) Combined() string { return r.Stdout + r.Stderr }

// Cmd is one command to run with a cleared environment.
type Cmd struct {
	t       testing.TB
	name    string
	args    []string
	env     map[string]string
	dir     string
	stdin   string
	timeout time.Duration
}

// Command prepares name (looked up in the plugin and tools directories) with args. Its
// environment holds only PATH, HOME and KUBECONFIG, so nothing from the developer's shell
// leaks in; Env adds more.
func (e *Env) Command(t testing.TB, name string, args ...string) *Cmd {
	t.Helper()
	home := t.TempDir()
	return &Cmd{
		t:    t,
		name: name,
		args: args,
		env: map[string]string{
			"PATH":       e.PluginBin + ":" + e.ToolsBin + ":/usr/local/bin:/usr/bin:/bin",
			"HOME":       home,
			"KUBECONFIG": e.Kubeconfig,
		},
		timeout: 5 * time.Minute,
	}
}

// Env sets an environment variable of the command.
func (c *Cmd) Env(key, value string) *Cmd { c.env[key] = value; return c }

// Dir sets the working directory of the command.
func (c *Cmd) Dir(dir string) *Cmd { c.dir = dir; return c }

// Stdin sets the standard input of the command.
func (c *Cmd) Stdin(s string) *Cmd { c.stdin = s; return c }

// Timeout bounds the command; it is killed when the time is up.
func (c *Cmd) Timeout(d time.Duration) *Cmd { c.timeout = d; return c }

// Run runs the command and returns its result, whatever the exit code.
func (c *Cmd) Run() Result {
	c.t.Helper()
	res, _ := c.RunWithState()
	return res
}

// RunWithState is Run that also returns the process state, for its resource usage.
func (c *Cmd) RunWithState() (Result, *os.ProcessState) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	path, err := lookPath(c.name, c.env["PATH"])
	if err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	cmd := exec.CommandContext(ctx, path, c.args...)
	cmd.Dir = c.dir
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(c.stdin)
	runErr := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		c.t.Fatalf("%s %s: killed after %s\nstdout:\n%s\nstderr:\n%s", c.name, strings.Join(c.args, " "), c.timeout, res.Stdout, res.Stderr)
	}
	if runErr != nil {
		exitErr, ok := runErr.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("%s: %v", c.name, runErr)
		}
		res.ExitCode = exitErr.ExitCode()
	}
	return res, cmd.ProcessState
}

// Succeed runs the command and fails the test unless it exits 0.
func (c *Cmd) Succeed() Result {
	c.t.Helper()
	res := c.Run()
	if res.ExitCode != 0 {
		c.t.Fatalf("%s %s: exit code %d\nstdout:\n%s\nstderr:\n%s", c.name, strings.Join(c.args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res
}

func lookPath(name, path string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("not found in %s", path)
}

// Kubectl runs the pinned kubectl against the cluster and fails the test unless it succeeds.
func (e *Env) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	return e.Command(t, "kubectl", args...).Succeed().Stdout
}

// Namespace creates a namespace for this test alone and deletes it when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	ns := "e2e-" + slug + "-" + hex.EncodeToString(suffix)
	e.Kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() {
		e.Command(t, "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
	})
	return ns
}

// Apply applies the manifest in namespace ns.
func (e *Env) Apply(t testing.TB, ns, manifest string) {
	t.Helper()
	e.Command(t, "kubectl", "apply", "-n", ns, "-f", "-").Stdin(manifest).Succeed()
}

// Eventually polls check every 250ms until it returns "" or the timeout passes, then fails
// the test with the last message check returned.
func Eventually(t testing.TB, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Running is a command started with Start.
type Running struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdout *bytes.Buffer
	stderr *syncBuffer
}

// Start runs the command in the background; Wait collects it.
func (c *Cmd) Start() *Running {
	c.t.Helper()
	path, err := lookPath(c.name, c.env["PATH"])
	if err != nil {
		c.t.Fatalf("%s: %v", c.name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	cmd := exec.CommandContext(ctx, path, c.args...)
	cmd.Dir = c.dir
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &Running{cmd: cmd, cancel: cancel, stdout: &bytes.Buffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		c.t.Fatalf("start %s: %v", c.name, err)
	}
	c.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
		cancel()
	})
	return r
}

// Signal sends sig to the running command.
func (r *Running) Signal(sig os.Signal) error { return r.cmd.Process.Signal(sig) }

// Stderr is what the command has printed on stderr so far.
func (r *Running) Stderr() string { return r.stderr.String() }

// Wait waits for the command to end and returns its result.
func (r *Running) Wait() Result {
	err := r.cmd.Wait()
	r.cancel()
	res := Result{Stdout: r.stdout.String(), Stderr: r.stderr.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		res.ExitCode = exitErr.ExitCode()
	}
	return res
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
