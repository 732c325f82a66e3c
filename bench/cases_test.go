package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

func numCPU() int { return runtime.NumCPU() }

func sortStrings(s []string) { sort.Strings(s) }

// tools are the deploy commands compared side by side.
var tools = []string{"converge", "helm3", "helm4"}

// helmTimeout is helm's --timeout in the failure cases: helm waits for all of it.
const helmTimeout = 60 * time.Second

// runs is how many times each case runs (CONVERGE_BENCH_RUNS, default 3).
func runs() int {
	if n, err := strconv.Atoi(os.Getenv("CONVERGE_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// smallRuns is how many times the N=30 success path runs (CONVERGE_BENCH_SMALL_RUNS, default
// 7): a run lasts a few seconds and varies by a tenth from one to the next on this machine,
// twice the 5 % the target against the cluster's limit allows.
func smallRuns() int {
	if n, err := strconv.Atoi(os.Getenv("CONVERGE_BENCH_SMALL_RUNS")); err == nil && n > 0 {
		return n
	}
	return 7
}

// largeRuns is how many times the N=150 success path runs (CONVERGE_BENCH_LARGE_RUNS,
// default 2): helm v4 takes minutes per upgrade there.
func largeRuns() int {
	if n, err := strconv.Atoi(os.Getenv("CONVERGE_BENCH_LARGE_RUNS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// TestBenchmarks runs every case and writes the table; it only runs under make bench.
func TestBenchmarks(t *testing.T) {
	out := os.Getenv("CONVERGE_BENCH_OUT")
	if out == "" {
		t.Skip("benchmarks run with make bench (CONVERGE_BENCH_OUT names the results file)")
	}
	env := harness.Get(t)
	proxy := newCountingProxy(t, env.Kubeconfig)
	r := &report{}
	start := time.Now()
	cases := os.Getenv("CONVERGE_BENCH_CASES")
	want := func(name string) bool { return cases == "" || strings.Contains(cases, name) }
	if want("success") {
		successPath(t, env, proxy, r)
	}
	if want("scale1000") {
		scale1000(t, env, proxy, r)
	}
	if want("publicchart") {
		publicChartCase(t, env, proxy, r)
	}
	if want("multikind") {
		multiKind(t, env, proxy, r)
	}
	if want("failures") {
		failures(t, env, proxy, r)
	}
	if want("giterminism") {
		giterminism(t, env, r)
	}
	if want("bundles") {
		bundles(t, env, proxy, r)
	}
	r.write(t, out, runs(), time.Since(start))
}

// deployCmd is the install-or-upgrade of chart as release in ns by tool.
func deployCmd(t *testing.T, env *harness.Env, tool, chart, release, ns string, timeout time.Duration, args ...string) *harness.Cmd {
	if tool == "converge" {
		return env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns, "--release", release, "--timeout", timeout.String(), "--progress", "plain"}, args...)...).Timeout(timeout + 2*time.Minute)
	}
	base := []string{"upgrade", "--install", release, chart, "-n", ns, "--wait", "--wait-for-jobs", "--timeout", timeout.String()}
	return env.Command(t, tool, append(base, args...)...).Timeout(timeout + 2*time.Minute)
}

// scaleChart writes a chart with n Deployments (2 replicas), n Services, n ConfigMaps and
// secrets Secrets; the value rev goes into every pod template.
func scaleChart(t *testing.T, n, secrets int) string {
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("scale%d", n))
	write(t, filepath.Join(dir, "Chart.yaml"), fmt.Sprintf("apiVersion: v2\nname: scale%d\nversion: 0.1.0\n", n))
	write(t, filepath.Join(dir, "values.yaml"), fmt.Sprintf("count: %d\nsecrets: %d\nrev: \"1\"\n", n, secrets))
	write(t, filepath.Join(dir, "templates", "secrets.yaml"), `{{- range $i := until (int .Values.secrets) }}
---
apiVersion: v1
kind: Secret
metadata: {name: credentials-{{ $i }}}
stringData: {password: "bench-password-{{ $i }}"}
{{- end }}
`)
	write(t, filepath.Join(dir, "templates", "all.yaml"), `{{- range $i := until (int .Values.count) }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-{{ $i }}}
data: {index: "{{ $i }}"}
---
apiVersion: v1
kind: Service
metadata: {name: app-{{ $i }}}
spec: {clusterIP: None, selector: {app: app-{{ $i }}}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-{{ $i }}}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-{{ $i }}}}
  template:
    metadata: {labels: {app: app-{{ $i }}}, annotations: {rev: "{{ $.Values.rev }}"}}
    spec: {containers: [{name: app, image: registry.example.com/app:1, envFrom: [{configMapRef: {name: app-{{ $i }}}}]}]}
{{- end }}
`)
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// successPath installs and upgrades the N-object charts with each tool, several times.
func successPath(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) {
	var rows [][]string
	var loadRows [][]string
	for _, n := range []int{30, 150} {
		chart := scaleChart(t, n, 0)
		walls := map[string]map[string][]float64{}
		last := map[string]sample{}
		rss := map[string][]float64{}
		cpu := map[string][]float64{}
		limits := map[string][]float64{}
		count := smallRuns()
		if n == 150 {
			count = largeRuns()
		}
		// At N=30 a run lasts a few seconds and the proxy's own work (it runs in this
		// process, on the cluster's two cores) grows with what a command watches and
		// streams, so every tool and the limit go straight to the API server; N=150 goes
		// through the proxy for the counts of section 3–4, every tool alike.
		counting := proxy
		if n == 30 {
			counting = nil
		}
		for run := 0; run < count; run++ {
			for _, tool := range tools {
				ns := env.Namespace(t)
				for _, phase := range []string{"install", "upgrade"} {
					rev := map[string]string{"install": "1", "upgrade": "2"}[phase]
					s := measure(t, counting, deployCmd(t, env, tool, chart, "scale", ns, 10*time.Minute, "--set", "rev="+rev))
					if s.exit != 0 {
						t.Fatalf("%s %s N=%d: exit %d\n%s", tool, phase, n, s.exit, tail(s.output))
					}
					if walls[tool] == nil {
						walls[tool] = map[string][]float64{}
					}
					walls[tool][phase] = append(walls[tool][phase], seconds(s.wall))
					if phase == "install" {
						last[tool] = s
						rss[tool] = append(rss[tool], float64(s.maxRSS)/1024)
						cpu[tool] = append(cpu[tool], seconds(s.cpu))
					}
					t.Logf("N=%d %s %s: %s, %d requests, %d watches", n, tool, phase, s.wall.Round(10*time.Millisecond), s.totalRequests(), s.watches)
				}
				// The next tool starts on a cluster without this run's pods.
				env.Command(t, "kubectl", "delete", "namespace", ns, "--timeout=3m").Timeout(4 * time.Minute).Run()
			}
			ns := env.Namespace(t)
			for _, phase := range []string{"install", "upgrade"} {
				rev := map[string]string{"install": "1", "upgrade": "2"}[phase]
				limits[phase] = append(limits[phase], clusterLimit(t, env, counting, chart, ns, rev))
				t.Logf("N=%d cluster limit %s: %.2f s", n, phase, limits[phase][len(limits[phase])-1])
			}
			env.Command(t, "kubectl", "delete", "namespace", ns, "--timeout=3m").Timeout(4 * time.Minute).Run()
		}
		for _, phase := range []string{"install", "upgrade"} {
			c := statsOf(walls["converge"][phase])
			h3, h4 := statsOf(walls["helm3"][phase]), statsOf(walls["helm4"][phase])
			limit := statsOf(limits[phase])
			ratio3, ratio4, ratioLimit := c.median/h3.median, c.median/h4.median, c.median/limit.median
			target := "≤ 1.0× helm v3: " + r.target(ratio3 <= 1.0, fmt.Sprintf("success path N=%d %s: %.2f× helm v3", n, phase, ratio3))
			if n == 30 {
				target += "; ≤ 1.05× the limit: " + r.targetBecause(ratioLimit <= 1.05, fmt.Sprintf("success path N=%d %s: %.2f× the cluster's limit", n, phase, ratioLimit),
					"a converge starts a process, renders the chart, reviews access, takes the release lock and records a revision before it applies anything; the limit does none of that, and at N=30 those fixed costs are a few tenths of a second of a few seconds")
			}
			rows = append(rows, []string{fmt.Sprintf("N=%d %s", n, phase), c.String(), h3.String(), h4.String(), limit.String(), trim(ratio3), trim(ratio4), trim(ratioLimit), target})
		}
		if n == 150 {
			for _, tool := range tools {
				s := last[tool]
				loadRows = append(loadRows, []string{tool, strconv.Itoa(s.totalRequests()), verbs(s.requests), strconv.Itoa(s.watches),
					statsOf(rss[tool]).String(), statsOf(cpu[tool]).String()})
			}
			c, h3 := last["converge"], last["helm3"]
			rssC := statsOf(rss["converge"]).median
			loadRows = append(loadRows, []string{"targets", fmt.Sprintf("≤ helm v3 (%d): %s", h3.totalRequests(), r.target(c.totalRequests() <= h3.totalRequests(), fmt.Sprintf("API requests at N=150: %d against helm v3's %d", c.totalRequests(), h3.totalRequests()))),
				"", fmt.Sprintf("not growing with N: %d", c.watches), fmt.Sprintf("≤ 150 MiB: %s", r.target(rssC <= 150, fmt.Sprintf("peak RSS at N=150: %.0f MiB", rssC))), ""})
		}
	}
	r.section("1. Success path", fmt.Sprintf("Install, then an upgrade that changes the pod template of every Deployment: wall time in seconds to exit 0 (N=30: %d runs, N=150: %d runs).", smallRuns(), largeRuns())+" N Deployments (2 replicas each), N Services (headless: the local cluster's service IP range is small) and N ConfigMaps. The limit is the cluster's own: `kubectl apply --server-side` of the rendered objects plus `kubectl rollout status` of every Deployment. At N=30 every tool and the limit's kubectl go straight to the API server (the counting proxy shares the two cores with the cluster and its work grows with what a command watches and streams, a large part of a few seconds); at N=150 all of them go through the proxy, for the counts below."+readinessNote,
		[]string{"case", "converge", "helm v3", "helm v4", "limit", "÷ helm v3", "÷ helm v4", "÷ limit", "target"}, rows)
	r.section("3–4. API server load and client cost (N=150, install)", "Requests by verb and the most watches open at once during one install (the last run), peak RSS in MiB and CPU seconds of the process (all runs).",
		[]string{"tool", "requests", "by verb", "peak watches", "peak RSS MiB", "CPU s"}, loadRows)
}

func verbs(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// failureChart is 10 healthy Deployments and one object that fails as kind says.
func failureChart(t *testing.T, kind string) (string, []string) {
	dir := filepath.Join(t.TempDir(), kind)
	write(t, filepath.Join(dir, "Chart.yaml"), "apiVersion: v2\nname: failing\nversion: 0.1.0\n")
	write(t, filepath.Join(dir, "templates", "healthy.yaml"), `{{- range $i := until 10 }}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: healthy-{{ $i }}}
spec:
  replicas: 1
  selector: {matchLabels: {app: healthy-{{ $i }}}}
  template:
    metadata: {labels: {app: healthy-{{ $i }}}}
    spec: {containers: [{name: app, image: registry.example.com/app:1}]}
{{- end }}
`)
	deployment := func(podAnnotations, extra string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: 1
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}, annotations: {` + podAnnotations + `}}
    spec:
      containers: [{name: app, image: registry.example.com/app:1` + extra + `}]
`
	}
	var failing string
	var reasons []string
	switch kind {
	case "unschedulable":
		failing = deployment("", ", resources: {requests: {cpu: '5000'}}")
		reasons = []string{"Unschedulable", "FailedScheduling", "Insufficient cpu"}
	case "image pull failure":
		failing = deployment("converge.test/behaviour: image-pull-failure", "")
		reasons = []string{"ImagePullBackOff", "ErrImagePull"}
	case "crash loop":
		failing = deployment("converge.test/behaviour: crash-loop", "")
		reasons = []string{"CrashLoopBackOff"}
	case "failed Job":
		failing = `apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {converge.test/behaviour: job-failure}}
    spec: {restartPolicy: Never, containers: [{name: job, image: registry.example.com/migrate:1}]}
`
		reasons = []string{"BackoffLimitExceeded"}
	}
	write(t, filepath.Join(dir, "templates", "broken.yaml"), failing)
	return dir, reasons
}

func namesReason(out string, reasons []string) bool {
	for _, r := range reasons {
		if strings.Contains(out, r) {
			return true
		}
	}
	return false
}

// failures measures the time to a non-zero exit for each failure; helm runs once per case,
// as it always waits for its whole timeout.
func failures(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) {
	var rows [][]string
	for _, kind := range []string{"unschedulable", "image pull failure", "crash loop", "failed Job"} {
		chart, reasons := failureChart(t, kind)
		row := []string{kind}
		var convergeWall float64
		for _, tool := range tools {
			n := 1
			if tool == "converge" {
				n = runs()
			}
			var walls []float64
			named := true
			for i := 0; i < n; i++ {
				ns := env.Namespace(t)
				s := measure(t, proxy, deployCmd(t, env, tool, chart, "failing", ns, helmTimeout))
				if s.exit == 0 {
					t.Fatalf("%s %s: exit 0, want a failure\n%s", tool, kind, tail(s.output))
				}
				walls = append(walls, seconds(s.wall))
				named = named && namesReason(s.output, reasons)
				env.Command(t, "kubectl", "delete", "namespace", ns, "--wait=false").Run()
			}
			st := statsOf(walls)
			if tool == "converge" {
				convergeWall = st.median
			}
			row = append(row, fmt.Sprintf("%s s, reason %s", st, yesNo(named)))
		}
		row = append(row, "≤ 10 s with the reason: "+r.target(convergeWall <= 10 && strings.Contains(row[1], "reason named"), fmt.Sprintf("failure %q: %.1f s (%s)", kind, convergeWall, row[1])))
		rows = append(rows, row)
	}
	r.section("2. Time to a clear failure", fmt.Sprintf("Wall time from start to a non-zero exit, and whether the output names the reason (%s). Each chart also has 10 healthy Deployments. helm runs with --wait --wait-for-jobs --timeout %s and waits for all of it (one run each); converge runs %d times. The failure appears within a few seconds of the start (the fake kubelet reports it at once; unschedulable pods get FailedScheduling from the real scheduler).", "Unschedulable/FailedScheduling, ImagePullBackOff/ErrImagePull, CrashLoopBackOff, BackoffLimitExceeded", helmTimeout, runs()),
		[]string{"failure", "converge", "helm v3", "helm v4", "target"}, rows)
}

func yesNo(b bool) string {
	if b {
		return "named"
	}
	return "not named"
}

// giterminism loads a 40-file chart from a commit of a repository with 20 000 other files and
// 2 000 commits, from a plain directory, and from the same repository with a dirty tree.
func giterminism(t *testing.T, env *harness.Env, r *report) {
	repo := t.TempDir()
	chartFiles := map[string]string{".helm/Chart.yaml": "apiVersion: v2\nname: big\nversion: 0.1.0\n", ".helm/values.yaml": "replicas: 1\n"}
	for i := 0; i < 38; i++ {
		chartFiles[fmt.Sprintf(".helm/templates/cm-%02d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d}\ndata: {replicas: \"{{ .Values.replicas }}\"}\n", i)
	}
	fastImport(t, repo, chartFiles, 20000, 2000)
	plain := filepath.Join(t.TempDir(), "chart")
	for name, content := range chartFiles {
		write(t, filepath.Join(plain, strings.TrimPrefix(name, ".helm/")), content)
	}
	measureRender := func(dir string, args ...string) stats {
		var walls []float64
		for i := 0; i < 5; i++ {
			start := time.Now()
			env.Command(t, "kubectl", append([]string{"converge", "render", "-n", "default"}, args...)...).Dir(dir).Succeed()
			walls = append(walls, seconds(time.Since(start)))
		}
		return statsOf(walls)
	}
	plainStats := measureRender(filepath.Dir(plain), "chart")
	commitStats := measureRender(repo, "--git-ref", "HEAD")
	for i := 0; i < 2500; i++ {
		write(t, filepath.Join(repo, "src", fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%05d.txt", i)), "modified\n")
		write(t, filepath.Join(repo, "src", fmt.Sprintf("d%02d", i%50), fmt.Sprintf("untracked-%d.txt", i)), "new\n")
	}
	dirtyStats := measureRender(repo, "--git-ref", "HEAD")
	ratio := commitStats.median / plainStats.median
	dirtyRatio := dirtyStats.median / plainStats.median
	r.section("5. Giterminism loading", "`kubectl converge render` of a 40-file chart, 5 runs each: from a plain directory; from HEAD of a repository with 20 000 other files and 2 000 commits (giterminism: every chart file read from the commit, the chart's paths checked for uncommitted changes); and the same with 5 000 modified and untracked files elsewhere in the work tree.",
		[]string{"source", "seconds", "÷ plain directory", "target"}, [][]string{
			{"plain directory", plainStats.String(), "1", ""},
			{"commit of the big repository", commitStats.String(), trim(ratio), "≤ 1.5×: " + r.target(ratio <= 1.5, fmt.Sprintf("giterminism load %.2f× the plain directory", ratio))},
			{"commit, dirty work tree", dirtyStats.String(), trim(dirtyRatio), "≤ 1.5×: " + r.target(dirtyRatio <= 1.5, fmt.Sprintf("giterminism load with a dirty tree %.2f× the plain directory", dirtyRatio))},
		})
}

// fastImport creates a repository whose commits add files outside the chart, then a commit
// of the chart, with git fast-import (a 2 000-commit history takes minutes with git commit),
// and checks the work tree out.
func fastImport(t *testing.T, repo string, chart map[string]string, files, commits int) {
	git := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("", "init", "-q", "-b", "main")
	var b strings.Builder
	commit := func(n int, message string, changes map[string]string) {
		fmt.Fprintf(&b, "commit refs/heads/main\nmark :%d\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s\n", n, 1700000000+n, len(message), message)
		if n > 1 {
			fmt.Fprintf(&b, "from :%d\n", n-1)
		}
		names := make([]string, 0, len(changes))
		for name := range changes {
			names = append(names, name)
		}
		sortStrings(names)
		for _, name := range names {
			fmt.Fprintf(&b, "M 644 inline %s\ndata %d\n%s\n", name, len(changes[name]), changes[name])
		}
	}
	perCommit := 0
	if commits > 0 {
		perCommit = files / commits
	}
	for c := 1; c <= commits; c++ {
		changes := map[string]string{}
		for f := 0; f < perCommit; f++ {
			i := (c-1)*perCommit + f
			changes[fmt.Sprintf("src/d%02d/f%05d.txt", i%50, i)] = fmt.Sprintf("file %d", i)
		}
		commit(c, fmt.Sprintf("change %d", c), changes)
	}
	commit(commits+1, "chart", chart)
	git(b.String(), "fast-import", "--quiet")
	git("", "checkout", "-q", "-f", "main")
}

// bundles compares publishing and applying a bundle of the N=30 chart with helm package,
// helm push and helm upgrade --install --wait of the same chart.
func bundles(t *testing.T, env *harness.Env, proxy *countingProxy, r *report) {
	registry := harness.Registry(t)
	repo := t.TempDir()
	chart := scaleChart(t, 30, 0)
	files := map[string]string{}
	filepath.Walk(chart, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(chart, path)
			files[".helm/"+filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	fastImport(t, repo, files, 0, 0)
	home := t.TempDir()
	helm := func(args ...string) *harness.Cmd {
		return env.Command(t, "helm3", args...).Dir(repo).
			Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
			Env("HELM_DATA_HOME", filepath.Join(home, "data")).
			Env("HELM_CACHE_HOME", filepath.Join(home, "cache")).
			Timeout(10 * time.Minute)
	}
	helm("plugin", "install", env.RepoRoot).Succeed()
	var publish, apply, pkg, push, upgrade []float64
	timed := func(into *[]float64, cmd *harness.Cmd) {
		start := time.Now()
		cmd.Succeed()
		*into = append(*into, seconds(time.Since(start)))
	}
	for run := 0; run < runs(); run++ {
		tag := fmt.Sprintf("1.0.%d", run)
		ns := env.Namespace(t)
		timed(&publish, helm("giterm", "bundle-publish", "oci://"+registry+"/bench/bundle", "--tag", tag, "--plain-http"))
		timed(&apply, helm("giterm", "bundle-apply", "oci://"+registry+"/bench/bundle", "bench", "--tag", tag, "-n", ns, "--plain-http", "--progress", "plain"))
		out := t.TempDir()
		timed(&pkg, helm("package", ".helm", "-d", out, "--version", tag))
		timed(&push, helm("push", filepath.Join(out, "scale30-"+tag+".tgz"), "oci://"+registry+"/bench/helm", "--plain-http"))
		ns2 := env.Namespace(t)
		timed(&upgrade, helm("upgrade", "--install", "bench", "oci://"+registry+"/bench/helm/scale30", "--version", tag, "-n", ns2, "--wait", "--timeout", "10m", "--plain-http"))
		env.Command(t, "kubectl", "delete", "namespace", ns, ns2, "--wait=false").Run()
	}
	total := func(parts ...[]float64) []float64 {
		out := make([]float64, len(parts[0]))
		for _, p := range parts {
			for i, v := range p {
				out[i] += v
			}
		}
		return out
	}
	ours, theirs := statsOf(total(publish, apply)), statsOf(total(pkg, push, upgrade))
	r.section("6. Bundles", "Publishing the N=30 chart from a git commit with its values baked in and applying it (tracked until ready), against helm package + helm push + helm upgrade --install --wait of the same chart (helm v3), seconds.",
		[]string{"step", "seconds"}, [][]string{
			{"helm giterm bundle-publish", statsOf(publish).String()},
			{"helm giterm bundle-apply", statsOf(apply).String()},
			{"**publish + apply**", "**" + ours.String() + "**"},
			{"helm package", statsOf(pkg).String()},
			{"helm push", statsOf(push).String()},
			{"helm upgrade --install --wait", statsOf(upgrade).String()},
			{"**package + push + upgrade**", "**" + theirs.String() + "**"},
			{"ratio", trim(ours.median / theirs.median)},
		})
}

// readinessNote says why an upgrade can take converge longer than helm v3's --wait.
const readinessNote = " converge counts a Deployment ready as `kubectl rollout status` does (every replica updated and available, no old pod left); helm v3's --wait returns once the new ReplicaSet has enough ready pods, before the old ones are gone, which is most of the N=30 upgrade difference."
