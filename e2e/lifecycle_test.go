package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestClusterDownLeavesNothing starts a second, separate cluster, checks that every port its
// processes listen on is bound to 127.0.0.1, stops it with "cluster.sh down" (what
// "make cluster-down" runs) and checks that no process and no listening port is left.
func TestClusterDownLeavesNothing(t *testing.T) {
	env := harness.Get(t)
	home := t.TempDir()
	script := func(arg string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(env.RepoRoot, "tools", "cluster.sh"), arg)
		cmd.Env = append(os.Environ(),
			"CONVERGE_CLUSTER_NAME=e2e-lifecycle",
			"CONVERGE_CLUSTER_HOME="+home,
			"CONVERGE_CLUSTER_NODES=1",
		)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cluster.sh %s: %v\n%s", arg, err, out)
		}
	}
	t.Cleanup(func() { script("down") })
	script("up")

	pidFiles, err := filepath.Glob(filepath.Join(home, "kwok", "clusters", "e2e-lifecycle", "pids", "*.pid"))
	if err != nil || len(pidFiles) < 5 {
		t.Fatalf("want pid files of etcd, kube-apiserver, controller manager, scheduler and kwok, got %v (%v)", pidFiles, err)
	}
	var pids []int
	var ports []int
	for _, f := range pidFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids = append(pids, pid)
		listening := listeningSockets(t, pid)
		if len(listening) == 0 && !strings.HasSuffix(f, "kube-scheduler.pid") {
			t.Errorf("%s (pid %d) listens on no TCP port", filepath.Base(f), pid)
		}
		for _, l := range listening {
			if l.ip != "127.0.0.1" {
				t.Errorf("%s (pid %d) listens on %s:%d, want 127.0.0.1 only", filepath.Base(f), pid, l.ip, l.port)
			}
			ports = append(ports, l.port)
		}
	}

	script("down")

	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("pid %d still running after cluster.sh down", pid)
		}
	}
	for _, port := range ports {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("port %d still accepts connections after cluster.sh down", port)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "kwok", "clusters", "e2e-lifecycle")); !os.IsNotExist(err) {
		t.Errorf("cluster state still on disk after cluster.sh down (stat: %v)", err)
	}
}

type socket struct {
	ip   string
	port int
}

// listeningSockets reads the TCP sockets in LISTEN state that pid holds open, from /proc.
func listeningSockets(t *testing.T, pid int) []socket {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read fds of pid %d: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	var out []socket
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(f)
		scanner.Scan() // header
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			const listen = "0A"
			if len(fields) < 10 || fields[3] != listen || !inodes[fields[9]] {
				continue
			}
			out = append(out, parseProcAddress(t, fields[1]))
		}
		f.Close()
	}
	return out
}

// parseProcAddress decodes "0100007F:1F90" (little-endian IPv4) or the 32-digit IPv6 form.
func parseProcAddress(t *testing.T, s string) socket {
	t.Helper()
	hexIP, hexPort, _ := strings.Cut(s, ":")
	port, err := strconv.ParseInt(hexPort, 16, 32)
	if err != nil {
		t.Fatalf("port in %q: %v", s, err)
	}
	raw := make(net.IP, len(hexIP)/2)
	for i := range raw {
		b, err := strconv.ParseUint(hexIP[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatalf("address %q: %v", s, err)
		}
		raw[i] = byte(b)
	}
	// /proc stores each 32-bit word in host (little-endian) order.
	for w := 0; w+4 <= len(raw); w += 4 {
		raw[w], raw[w+1], raw[w+2], raw[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
	}
	return socket{ip: raw.String(), port: int(port)}
}

func processAlive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited and only waits to be reaped by its parent.
	fields := strings.Fields(string(raw))
	return len(fields) > 2 && fields[2] != "Z"
}

// TestToolsAreCachedOnSecondRun checks that the pinned tools, already built for this run,
// are found in the cache instead of being built again.
func TestToolsAreCachedOnSecondRun(t *testing.T) {
	env := harness.Get(t)
	cmd := exec.Command(filepath.Join(env.RepoRoot, "tools", "build-tools.sh"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-tools.sh: %v\n%s", err, stderr.String())
	}
	if got := strings.TrimSpace(string(out)); got != env.ToolsBin {
		t.Fatalf("build-tools.sh printed %q, want the same cache directory %q", got, env.ToolsBin)
	}
	for _, tool := range []string{"etcd", "kwok", "helm v3", "helm v4", "kubernetes"} {
		if !strings.Contains(stderr.String(), "[tools] "+tool) {
			t.Errorf("build-tools.sh said nothing about %s:\n%s", tool, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "building") || strings.Count(stderr.String(), ": cached") != 5 {
		t.Fatalf("second build-tools.sh run rebuilt something:\n%s", stderr.String())
	}
}
