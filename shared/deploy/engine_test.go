package deploy

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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
