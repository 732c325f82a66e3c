package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sharedClusterName is the cluster every engineer's tests share (cluster.sh's default name):
// tests that stop its control plane would break everybody else's runs.
const sharedClusterName = "converge-test"

// OwnCluster skips the test unless this run owns its cluster: the harness started it itself
// (a fresh machine, CI), or CONVERGE_CLUSTER_NAME names another cluster than the shared one.
// Tests that stop the control plane would break the runs of everybody else on a cluster
// they only reuse.
func OwnCluster(t testing.TB) {
	t.Helper()
	if shared != nil && shared.startedCluster {
		return
	}
	if name := os.Getenv("CONVERGE_CLUSTER_NAME"); name == "" || name == sharedClusterName {
		t.Skip("stops the control plane of a cluster this run did not start: run on a fresh machine (the harness starts its own) or with a cluster of its own, e.g. CONVERGE_CLUSTER_NAME=outage")
	}
}

// component is one process of the control plane as kwokctl started it.
type component struct {
	name    string
	pidFile string
	argv    []string
	cwd     string
	log     string
}

// ControlPlaneOutage stops the control plane (StopControlPlane) for d and starts it again;
// it returns when the API server answers.
func (e *Env) ControlPlaneOutage(t testing.TB, d time.Duration) {
	t.Helper()
	start := e.StopControlPlane(t)
	time.Sleep(d)
	start()
}

// StopControlPlane stops etcd and kube-apiserver of the local cluster (SIGKILL: open
// connections are reset, new ones refused, as when a control-plane node goes away); start
// starts them again with their own command lines and returns when the API server answers.
// The other components keep running and must reconnect. Both may be called from any
// goroutine; the test must hold a cluster of its own (OwnCluster).
func (e *Env) StopControlPlane(t testing.TB) (start func()) {
	t.Helper()
	OwnCluster(t)
	var stopped []component
	for _, name := range []string{"kube-apiserver", "etcd"} {
		c, err := e.stopComponent(name)
		if err != nil {
			t.Errorf("stop %s: %v", name, err)
			break
		}
		stopped = append(stopped, c)
	}
	return func() {
		// etcd first: the API server needs it to start.
		for i := len(stopped) - 1; i >= 0; i-- {
			if err := startComponent(stopped[i]); err != nil {
				t.Errorf("start %s again: %v", stopped[i].name, err)
				return
			}
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			out, err := exec.Command(filepath.Join(e.ToolsBin, "kubectl"), "--kubeconfig", e.Kubeconfig, "--request-timeout", "5s", "get", "--raw", "/readyz").CombinedOutput()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("the API server does not answer 2m after the outage: %v\n%s", err, out)
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// stopComponent kills the named process of the cluster and waits until it is gone.
func (e *Env) stopComponent(name string) (component, error) {
	pidFiles, _ := filepath.Glob(filepath.Join(filepath.Dir(e.Kubeconfig), "kwok", "clusters", "*", "pids", name+".pid"))
	if len(pidFiles) != 1 {
		return component{}, fmt.Errorf("want one %s.pid under %s, found %v", name, filepath.Dir(e.Kubeconfig), pidFiles)
	}
	raw, err := os.ReadFile(pidFiles[0])
	if err != nil {
		return component{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return component{}, fmt.Errorf("%s: %w", pidFiles[0], err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return component{}, fmt.Errorf("%s (pid %d) is not running: %w", name, pid, err)
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return component{}, err
	}
	c := component{name: name, pidFile: pidFiles[0], argv: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"), cwd: cwd,
		log: filepath.Join(filepath.Dir(filepath.Dir(pidFiles[0])), "logs", name+".log")}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return component{}, err
	}
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		return component{}, fmt.Errorf("%s (pid %d) still running after SIGKILL", name, pid)
	}
	return c, nil
}

// startComponent starts c again detached from the test (its own session, reparented when the
// starting shell exits), writing its PID where kwokctl and cluster.sh look for it.
func startComponent(c component) error {
	script := `setsid bash -c 'echo $$ > "$0"; exec "$@"' "$@" >>"$COMPONENT_LOG" 2>&1 </dev/null & disown`
	cmd := exec.Command("bash", append([]string{"-c", script, "bash", c.pidFile}, c.argv...)...)
	cmd.Dir = c.cwd
	cmd.Env = append(os.Environ(), "COMPONENT_LOG="+c.log)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, out.String())
	}
	return nil
}

// alive: the process exists and has not exited (a zombie holds no ports).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	if i := strings.LastIndex(s, ") "); i >= 0 {
		s = s[i+2:]
	}
	return !strings.HasPrefix(s, "Z")
}
