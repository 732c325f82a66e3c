package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-converge/converge/shared/diff"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/releaselock"
	"github.com/kubectl-converge/converge/shared/track"
)

// engine is the deploy engine on a fake cluster with Helm's memory storage: helmsdk, apply,
// track and the lock run as in production, talking to fakecluster over HTTP.
type engine struct {
	t       *testing.T
	cluster *fakecluster.Cluster
	client  *helmsdk.Client
	clients track.Clients
	mu      sync.Mutex
	events  []track.Event
}

const testNamespace = "app-ns"

func newEngine(t *testing.T) *engine {
	t.Helper()
	t.Setenv("HELM_MEMORY_DRIVER_DATA", "")
	c := fakecluster.New(t, testNamespace)
	client, err := helmsdk.NewClient(helmsdk.Config{Getter: c.Getter(), Namespace: testNamespace, Driver: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	return &engine{t: t, cluster: c, client: client, clients: track.Clients{Kube: c.Kube(), Dynamic: c.Dynamic(), Mapper: c.Mapper()}}
}

// chart writes a chart named app with the given files (path relative to the chart: templates/x.yaml, crds/y.yaml).
func writeChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["Chart.yaml"] = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (e *engine) prepare(files map[string]string) *inputs.Prepared {
	e.t.Helper()
	p, err := inputs.Prepare(inputs.Inputs{ChartPath: writeChart(e.t, files), ReleaseName: "app", Namespace: testNamespace, Getenv: func(string) string { return "" }})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *engine) options() ConvergeOptions {
	opts := ConvergeOptions{Timeout: time.Minute, Track: track.DefaultOptions(), Lock: releaselock.Options{}}
	opts.Track.Heartbeat = 0
	opts.Sink = func(ev track.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
	}
	return opts
}

func (e *engine) converge(files map[string]string, opts ConvergeOptions) (*Result, error) {
	e.t.Helper()
	return Converge(context.Background(), e.client, e.clients, e.prepare(files), opts)
}

const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {{ .Values.mode | default "a" | quote }}
`

func TestEngineInstalls(t *testing.T) {
	e := newEngine(t)
	res, err := e.converge(map[string]string{"templates/cm.yaml": configMap}, e.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.Revision != 1 || res.Release.Status != helmsdk.StatusDeployed {
		t.Fatalf("release %+v", res.Release)
	}
	if cm := e.cluster.Get("ConfigMap", testNamespace, "settings"); cm == nil {
		t.Fatal("configmap not created")
	}
}

const crontabCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.example.com
spec:
  group: example.com
  names:
    kind: CronTab
    plural: crontabs
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: %s
`

const hookJob = `apiVersion: v1
kind: ConfigMap
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
data:
  command: %q
`

// planChart is a chart with a CRD, a hook and an object.
func planChart(crdDescription, hookCommand, mode string) map[string]string {
	return map[string]string{
		"crds/crontab.yaml":   fmt.Sprintf(crontabCRD, crdDescription),
		"templates/hook.yaml": fmt.Sprintf(hookJob, hookCommand),
		"templates/cm.yaml":   configMap,
		"values.yaml":         "mode: " + mode + "\n",
	}
}

func (e *engine) plan(files map[string]string) *Plan {
	e.t.Helper()
	plan, err := MakePlan(context.Background(), e.client, e.prepare(files), PlanOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return plan
}

// changes are the plan's changes as "action Kind/name".
func changes(plan *Plan) []string {
	var out []string
	for _, c := range plan.Changes {
		out = append(out, string(c.Action)+" "+c.Object.Kind+"/"+c.Object.Name)
	}
	return out
}

// TestPlanCoversCRDsAndHooks: a plan shows the CRDs (first, created, updated with a diff or
// unchanged) and the hooks with their content and its diff from the last revision.
func TestPlanCoversCRDsAndHooks(t *testing.T) {
	e := newEngine(t)
	first := e.plan(planChart("v1", "echo migrate", "a"))
	if got, want := strings.Join(changes(first), "; "), "create CustomResourceDefinition/crontabs.example.com; create ConfigMap/settings; hook ConfigMap/migrate"; got != want {
		t.Fatalf("first plan: %s, want %s", got, want)
	}
	hook := first.Changes[2]
	if hook.Hook.Content != HookContentNew || !strings.Contains(hook.Diff, `+  command: echo migrate`) {
		t.Fatalf("new hook: content %q, diff:\n%s", hook.Hook.Content, hook.Diff)
	}
	if !first.Changes[0].CRD || !strings.Contains(first.Changes[0].Diff, "+  - name: v1") {
		t.Fatalf("new CRD: %+v", first.Changes[0])
	}
	if _, err := e.converge(planChart("v1", "echo migrate", "a"), e.options()); err != nil {
		t.Fatal(err)
	}
	same := e.plan(planChart("v1", "echo migrate", "a"))
	if got, want := strings.Join(changes(same), "; "), "unchanged CustomResourceDefinition/crontabs.example.com; unchanged ConfigMap/settings; hook ConfigMap/migrate"; got != want {
		t.Fatalf("plan of the deployed chart: %s, want %s", got, want)
	}
	if h := same.Changes[2]; h.Hook.Content != HookContentUnchanged || h.Diff != "" {
		t.Fatalf("unchanged hook: content %q, diff:\n%s", h.Hook.Content, h.Diff)
	}
	if same.HasChanges() {
		t.Fatal("the plan of the deployed chart has changes")
	}
	if hookOnly := e.plan(planChart("v1", "echo other", "a")); !hookOnly.HasChanges() {
		t.Fatal("a plan whose only change is a hook that runs has no changes")
	}
	changed := e.plan(planChart("v2", "rm -rf /data", "a"))
	if got, want := strings.Join(changes(changed), "; "), "update CustomResourceDefinition/crontabs.example.com; unchanged ConfigMap/settings; hook ConfigMap/migrate"; got != want {
		t.Fatalf("plan of changed CRD and hook: %s, want %s", got, want)
	}
	if d := changed.Changes[0].Diff; !strings.Contains(d, "-        description: v1") || !strings.Contains(d, "+        description: v2") {
		t.Fatalf("CRD diff:\n%s", d)
	}
	if h := changed.Changes[2]; h.Hook.Content != HookContentChanged || !strings.Contains(h.Diff, "-  command: echo migrate") || !strings.Contains(h.Diff, "+  command: rm -rf /data") {
		t.Fatalf("changed hook: content %q, diff:\n%s", h.Hook.Content, h.Diff)
	}
	if changed.Digests.Manifest != same.Digests.Manifest || changed.Digests.Hooks == same.Digests.Hooks || changed.Digests.CRDs == same.Digests.CRDs || changed.Digest == same.Digest {
		t.Fatalf("digests: same %+v, changed %+v", same.Digests, changed.Digests)
	}
}

// changedObjects are the writes since the first skip ones that changed an object of the
// release (not the lock's, not dry runs, not access reviews).
func (e *engine) changedObjects(skip int) []string {
	var out []string
	for _, w := range e.cluster.Writes()[skip:] {
		if w.DryRun || w.Kind == "Lease" || w.Name == "werf-synchronization" || strings.HasPrefix(w.Kind, "SelfSubject") {
			continue
		}
		out = append(out, w.Verb+" "+w.Kind+"/"+w.Name)
	}
	return out
}

// TestUsePlanRefusesWhatMoved: a converge with a saved plan applies it when nothing moved,
// and otherwise is refused before anything, CRDs included, changes: a changed hook, a
// changed CRD, a changed object in the chart, a live object someone changed.
func TestUsePlanRefusesWhatMoved(t *testing.T) {
	reviewed := planChart("v2", "echo migrate v2", "b")
	tests := []struct {
		name  string
		chart map[string]string
		// change changes the cluster after the plan was made.
		change  func(*engine)
		refused string
	}{
		{name: "nothing moved", chart: reviewed},
		{name: "hook changed", chart: planChart("v2", "rm -rf /data", "b"), refused: "the chart renders other hooks than the plan reviewed"},
		{name: "CRD changed", chart: planChart("v3", "echo migrate v2", "b"), refused: "the chart renders other CRDs than the plan reviewed"},
		{name: "object changed", chart: planChart("v2", "echo migrate v2", "c"), refused: "the chart renders other manifests than the plan reviewed"},
		{name: "live object moved", chart: reviewed, refused: "live objects changed since the plan was made: cm/settings", change: func(e *engine) {
			cm := e.cluster.Get("ConfigMap", testNamespace, "settings")
			cm.Object["data"] = map[string]any{"mode": "edited"}
			if _, err := e.clients.Dynamic.Resource(configMapsGVR).Namespace(testNamespace).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			if _, err := e.converge(planChart("v1", "echo migrate", "a"), e.options()); err != nil {
				t.Fatal(err)
			}
			plan := e.plan(reviewed)
			if tt.change != nil {
				tt.change(e)
			}
			crdBefore := e.cluster.Get("CustomResourceDefinition", "", "crontabs.example.com")
			skip := len(e.cluster.Writes())
			opts := e.options()
			opts.Plan = plan
			_, err := e.converge(tt.chart, opts)
			if tt.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := e.cluster.Get("ConfigMap", testNamespace, "migrate").Object["data"]; fmt.Sprint(got) != "map[command:echo migrate v2]" {
					t.Fatalf("hook data %v", got)
				}
				return
			}
			if !errors.Is(err, helmsdk.ErrPlanOutdated) || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("error %v, want the plan refused: %s", err, tt.refused)
			}
			if changed := e.changedObjects(skip); len(changed) > 0 {
				t.Fatalf("a refused plan changed %v", changed)
			}
			if crd := e.cluster.Get("CustomResourceDefinition", "", "crontabs.example.com"); crd.GetResourceVersion() != crdBefore.GetResourceVersion() {
				t.Fatal("a refused plan changed the CRD")
			}
		})
	}
}

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// history is the release's history as "1:superseded 2:failed ...", "" when it has none.
func (e *engine) history() string {
	e.t.Helper()
	revs, err := e.client.History("app")
	if errors.Is(err, helmsdk.ErrReleaseNotFound) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range revs {
		out = append(out, fmt.Sprintf("%d:%s", r.Revision, r.Status))
	}
	return strings.Join(out, " ")
}

// refuse makes the fake API refuse every create or patch of the ConfigMap named name.
func (e *engine) refuse(name string) {
	e.cluster.React(func(w fakecluster.Write) error {
		if w.Kind == "ConfigMap" && w.Name == name && !w.DryRun && (w.Verb == "create" || w.Verb == "patch") {
			return apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, name, field.ErrorList{field.Invalid(field.NewPath("data"), "x", "refused by the test")})
		}
		return nil
	})
}

// lines are the human lines of the stage events so far.
func (e *engine) lines() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.events {
		if ev.Type == track.EventTypeStage {
			out = append(out, ev.Line)
		}
	}
	return strings.Join(out, "\n")
}

const brokenConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
`

// TestAutoRollback: a failed upgrade with --auto-rollback returns the release to its last
// good revision, objects included; a failed first install is uninstalled, its objects gone.
func TestAutoRollback(t *testing.T) {
	good := map[string]string{"templates/cm.yaml": configMap, "values.yaml": "mode: good\n"}
	bad := map[string]string{"templates/cm.yaml": configMap, "templates/broken.yaml": brokenConfigMap, "values.yaml": "mode: bad\n"}
	tests := []struct {
		name string
		// before are the charts converged successfully first.
		before      []map[string]string
		wantError   string
		wantHistory string
		// wantMode is the settings ConfigMap's mode after the rollback; "" when it is gone.
		wantMode string
		wantLine string
	}{
		{name: "upgrade returns to the last good revision", before: []map[string]string{good, good},
			wantError: "(auto-rollback: revision 2 is live again as revision 4)", wantHistory: "1:superseded 2:superseded 3:failed 4:deployed", wantMode: "good",
			wantLine: `auto-rollback: returning release "app" to revision 2`},
		{name: "a failed first install is uninstalled",
			wantError: "(auto-rollback: the failed first install was uninstalled)", wantHistory: "",
			wantLine: `auto-rollback: release "app" never deployed successfully: uninstalling it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			for _, chart := range tt.before {
				if _, err := e.converge(chart, e.options()); err != nil {
					t.Fatal(err)
				}
			}
			e.refuse("broken")
			opts := e.options()
			opts.AutoRollback = true
			res, err := e.converge(bad, opts)
			if err == nil || !strings.Contains(err.Error(), "refused by the test") || !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("error %v, want the failure and %q", err, tt.wantError)
			}
			if got := e.history(); got != tt.wantHistory {
				t.Fatalf("history %q, want %q", got, tt.wantHistory)
			}
			cm := e.cluster.Get("ConfigMap", testNamespace, "settings")
			switch {
			case tt.wantMode == "" && cm != nil:
				t.Fatalf("settings left after the uninstall: %v", cm.Object["data"])
			case tt.wantMode != "" && (cm == nil || fmt.Sprint(cm.Object["data"]) != "map[mode:"+tt.wantMode+"]"):
				t.Fatalf("settings after the rollback: %v", cm)
			}
			if tt.wantMode != "" && (res.RolledBack == nil || res.RolledBack.Revision != 4) {
				t.Fatalf("result's rolled-back revision: %+v", res.RolledBack)
			}
			if !strings.Contains(e.lines(), tt.wantLine) {
				t.Fatalf("no line %q in:\n%s", tt.wantLine, e.lines())
			}
		})
	}
}

// TestPendingRecovery: a revision an interrupted run left pending-* is marked failed by the
// next converge, which then deploys.
func TestPendingRecovery(t *testing.T) {
	for _, status := range []string{"pending-install", "pending-upgrade", "pending-rollback"} {
		t.Run(status, func(t *testing.T) {
			releases := filepath.Join(t.TempDir(), "releases.yaml")
			record := func(version int, status string) string {
				return fmt.Sprintf(`- name: app
  namespace: %s
  version: %d
  info: {status: %s}
  chart: {metadata: {name: app, version: 0.1.0, apiVersion: v2}}
  manifest: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
    data: {mode: old}
`, testNamespace, version, status)
			}
			data := record(1, "deployed") + record(2, status)
			if status == "pending-install" {
				data = record(1, status)
			}
			if err := os.WriteFile(releases, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			e := newEngine(t)
			t.Setenv("HELM_MEMORY_DRIVER_DATA", releases)
			client, err := helmsdk.NewClient(helmsdk.Config{Getter: e.cluster.Getter(), Namespace: testNamespace, Driver: "memory"})
			if err != nil {
				t.Fatal(err)
			}
			e.client = client
			pending := e.history()
			res, err := e.converge(map[string]string{"templates/cm.yaml": configMap}, e.options())
			if err != nil {
				t.Fatal(err)
			}
			revs, _ := e.client.History("app")
			left := revs[len(revs)-2]
			if left.Status != helmsdk.StatusFailed || res.Release.Status != helmsdk.StatusDeployed || res.Release.Revision != left.Revision+1 {
				t.Fatalf("history %q before, %q after", pending, e.history())
			}
			want := fmt.Sprintf(`release "app" revision %d was left %s by an interrupted run: marked it failed, continuing`, left.Revision, status)
			if !strings.Contains(e.lines(), want) {
				t.Fatalf("no line %q in:\n%s", want, e.lines())
			}
		})
	}
}

// actions are the typed decisions among the events so far, as "phase action reason object".
func (e *engine) actions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.events {
		if ev.Type != track.EventTypeAction {
			continue
		}
		object := ""
		if ev.Object != nil {
			object = ev.Object.String()
		}
		out = append(out, strings.Join([]string{ev.Phase, ev.Action, ev.Reason, object}, " "))
	}
	return out
}

// TestEventsCarryTypedDecisions: the events of a deploy say what it did to each object in
// typed fields (phase, action, reason) beside the line, as -o json and the report show them.
func TestEventsCarryTypedDecisions(t *testing.T) {
	e := newEngine(t)
	first := planChart("v1", "echo migrate", "a")
	first["templates/extra.yaml"] = brokenConfigMap
	for _, tc := range []struct {
		name  string
		chart map[string]string
		want  []string
	}{
		{"install", first, []string{
			"apply create absent cm/broken",
			"apply create absent cm/settings",
			"crds apply  crd/crontabs.example.com",
			"pre-hooks hook hook-event cm/migrate",
		}},
		{"upgrade", planChart("v2", "echo migrate", "b"), []string{
			"apply update present cm/settings",
			"cleanup delete left-chart cm/broken",
			"crds apply  crd/crontabs.example.com",
			"pre-hooks hook hook-event cm/migrate",
		}},
	} {
		e.events = nil
		if _, err := e.converge(tc.chart, e.options()); err != nil {
			t.Fatal(err)
		}
		// Objects of one group are applied in parallel: their order is not the point.
		got := e.actions()
		slices.Sort(got)
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Fatalf("%s: typed decisions:\n%s\nwant:\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	var log ActionLog
	sink := log.Sink(nil)
	for _, ev := range e.events {
		sink(ev)
	}
	report := NewReport("app", testNamespace, nil, nil)
	report.Actions = log.Actions()
	data, err := json.Marshal(report.Actions)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"action":"delete","reason":"left-chart","phase":"cleanup","line":"deleted cm/broken: no longer in the chart"`) {
		t.Fatalf("report actions: %s", data)
	}
}

// TestNoCRDWrittenUnlessTheChartRenders: the chart's CRDs are read while the chart renders
// with their API versions, and none is written when that render fails.
func TestNoCRDWrittenUnlessTheChartRenders(t *testing.T) {
	tests := []struct {
		name     string
		template string
		wantErr  string
		wantCRD  bool
	}{
		{"renders", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n", "", true},
		{"fails once the CRD's kind is known", `{{- if .Capabilities.APIVersions.Has "example.com/v1/CronTab" }}{{ fail "no crontab support" }}{{- end }}
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
`, "no crontab support", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t)
			_, err := e.converge(map[string]string{"crds/crontab.yaml": fmt.Sprintf(crontabCRD, "v1"), "templates/cm.yaml": tt.template}, e.options())
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.CodeError) {
				t.Fatalf("error %v (exit code %d), want one saying %q with exit code %d", err, exitcode.Of(err), tt.wantErr, exitcode.CodeError)
			}
			wrote := false
			for _, w := range e.cluster.Writes() {
				wrote = wrote || (w.Kind == "CustomResourceDefinition" && !w.DryRun)
			}
			if wrote != tt.wantCRD {
				t.Fatalf("CRD written: %v, want %v", wrote, tt.wantCRD)
			}
		})
	}
}

// TestPlanHidesHookSecrets: a hook that is a Secret shows in the plan with its values hidden
// unless --show-sensitive, and the hooks' digest does not change with a secret value.
func TestPlanHidesHookSecrets(t *testing.T) {
	e := newEngine(t)
	chart := func(password string) map[string]string {
		return map[string]string{"templates/hook.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: bootstrap
  annotations: {helm.sh/hook: pre-install}
stringData: {password: ` + password + `}
`}
	}
	plan := func(password string, show bool) *Plan {
		t.Helper()
		p, err := MakePlan(context.Background(), e.client, e.prepare(chart(password)), PlanOptions{Diff: diff.Options{ShowSensitive: show}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hidden, shown := plan("HOOK-SECRET-1", false), plan("HOOK-SECRET-1", true)
	if d := hidden.Changes[0].Diff; strings.Contains(d, "HOOK-SECRET-1") || !strings.Contains(d, "password:") {
		t.Fatalf("hook diff without --show-sensitive:\n%s", d)
	}
	if d := shown.Changes[0].Diff; !strings.Contains(d, "HOOK-SECRET-1") {
		t.Fatalf("hook diff with --show-sensitive:\n%s", d)
	}
	if other := plan("HOOK-SECRET-2", false); other.Digests.Hooks != hidden.Digests.Hooks {
		t.Fatal("the hooks' digest changes with a secret value: a saved plan would let one test a guess")
	}
}
