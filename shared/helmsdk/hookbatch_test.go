package helmsdk

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/helmsdk/fakecluster"
)

// allHookEvents are the events of every action's hooks.
const allHookEvents = "pre-install,post-install,pre-upgrade,post-upgrade,pre-rollback,post-rollback,pre-delete,post-delete"

// turnHooks are the inert hooks of weight 0, in the order Helm runs them (by name); later is
// the hook of weight 1.
var turnHooks = []struct{ kind, apiVersion, name string }{
	{"ServiceAccount", "v1", "a-account"},
	{"Role", "rbac.authorization.k8s.io/v1", "b-role"},
	{"RoleBinding", "rbac.authorization.k8s.io/v1", "c-binding"},
	{"ConfigMap", "v1", "d-settings"},
}

// hookChart is a chart with the turnHooks at weight 0 and a ConfigMap hook "later" at
// weight 1, all of events, with Helm's default delete policy, and one object; with postOnly,
// a ConfigMap hook "z-post" of weight 0 too, post-install only.
func hookChart(t *testing.T, events string, postOnly bool) *charts.Chart {
	t.Helper()
	files := map[string][]byte{
		"Chart.yaml":         []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n"),
		"templates/app.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n"),
		"templates/later.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations: {helm.sh/hook: \"" +
			events + "\", helm.sh/hook-weight: \"1\"}\ndata: {revision: \"{{ .Release.Revision }}\"}\n"),
	}
	for _, h := range turnHooks {
		doc := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  annotations: {helm.sh/hook: %q}\n", h.apiVersion, h.kind, h.name, events)
		switch h.kind {
		case "RoleBinding":
			doc += "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: b-role}\nsubjects: [{kind: ServiceAccount, name: a-account}]\n"
		case "ConfigMap":
			doc += "data: {revision: \"{{ .Release.Revision }}\"}\n"
		}
		files["templates/"+h.name+".yaml"] = []byte(doc)
	}
	if postOnly {
		files["templates/z-post.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z-post\n  annotations: {helm.sh/hook: post-install}\n")
	}
	ch, err := charts.LoadChartFiles("app", files)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// hookApplier applies objects one by one and awaits nothing: the seam as the apply engine
// uses it, without tracking.
type hookApplier struct{}

func (hookApplier) Apply(_, target []*resource.Info, ops Ops) error {
	for _, info := range target {
		if err := ops.Apply(nil, info, nil); err != nil {
			return err
		}
	}
	return nil
}

func (hookApplier) AwaitHook([]*resource.Info) error { return nil }

func (hookApplier) Delete(objects []*resource.Info, ops Ops) error {
	for _, info := range objects {
		if err := ops.Delete(info, metav1.DeletePropagationBackground); err != nil {
			return err
		}
	}
	return nil
}

func (hookApplier) AwaitGone([]*resource.Info, string) error { return nil }

// isTurnHook says the write is to one of the turnHooks.
func isTurnHook(w fakecluster.Write) bool {
	return slices.ContainsFunc(turnHooks, func(h struct{ kind, apiVersion, name string }) bool {
		return h.kind == w.Kind && h.name == w.Name
	})
}

// turnEvents are the events whose hooks are created together: every action's but
// post-delete.
const turnEvents = "pre-install,post-install,pre-upgrade,post-upgrade,pre-rollback,post-rollback,pre-delete"

// TestHooksOfATurnAreCreatedTogether: the inert hooks of one event and weight are created
// together, on install, upgrade, rollback and uninstall, with and without an Applier; the
// binding once the account, role and ConfigMap of its turn exist. The fake holds each of
// those three creates until all three have arrived, so they are in flight at once (a
// sequential creation never gets past the first, and the test hangs until go test's
// timeout), and no write of anything else comes between them or before the binding (the
// binding's own delete by before-hook-creation may): Helm's storing of the next hook as
// running comes after. The hook of the next weight is created after them, in its own turn.
func TestHooksOfATurnAreCreatedTogether(t *testing.T) {
	t.Setenv("HELM_MEMORY_DRIVER_DATA", "")
	firstOfTurn := func(name string) bool { return name != "c-binding" }
	for _, withApplier := range []bool{true, false} {
		t.Run(fmt.Sprintf("applier %v", withApplier), func(t *testing.T) {
			cluster := fakecluster.New(t, "ns")
			// log is the writes as they arrive: a write the hold releases is recorded by the
			// fake only as it gets its turn, after writes that arrived later may be.
			var mu sync.Mutex
			var log []string
			arrived, all := 0, make(chan struct{})
			cluster.Hold(func(w fakecluster.Write) {
				mu.Lock()
				log = append(log, fmt.Sprintf("%s %s %s", w.Verb, w.Kind, w.Name))
				if w.Verb != "create" || !isTurnHook(w) || !firstOfTurn(w.Name) {
					mu.Unlock()
					return
				}
				arrived++
				wait := all
				if arrived%(len(turnHooks)-1) == 0 {
					close(all)
					all = make(chan struct{})
				}
				mu.Unlock()
				<-wait
			})
			client, err := NewClient(Config{Getter: cluster.Getter(), Namespace: "ns", Driver: "secret"})
			if err != nil {
				t.Fatal(err)
			}
			var applier Applier
			if withApplier {
				applier = hookApplier{}
			}
			ctx := context.Background()
			ch := hookChart(t, turnEvents, false)
			for i := range 2 {
				if _, err := client.UpgradeOrInstall(ctx, UpgradeRequest{ReleaseName: "app", Chart: ch, Applier: applier}); err != nil {
					t.Fatalf("deploy %d: %v", i+1, err)
				}
			}
			if _, err := client.Rollback(ctx, RollbackRequest{ReleaseName: "app", Revision: 1, Applier: applier}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Uninstall(ctx, UninstallRequest{ReleaseName: "app", KeepHooks: true}); err != nil {
				t.Fatal(err)
			}
			// install, upgrade, rollback: a pre and a post turn each; uninstall: a pre turn.
			const turns = 7
			mu.Lock()
			defer mu.Unlock()
			together, inTurn, later := 0, 0, 0
			for i, entry := range log {
				verb, kindName, _ := strings.Cut(entry, " ")
				kind, name, _ := strings.Cut(kindName, " ")
				turnHook := isTurnHook(fakecluster.Write{Kind: kind, Name: name})
				switch {
				case verb == "create" && turnHook && firstOfTurn(name):
					if inTurn == len(turnHooks)-1 {
						t.Fatalf("a create of the next turn before the binding (write %d):\n%s", i, strings.Join(log, "\n"))
					}
					inTurn++
				case verb == "create" && turnHook:
					if inTurn != len(turnHooks)-1 {
						t.Fatalf("the binding created with %d of the others of its turn, want after all %d (write %d):\n%s", inTurn, len(turnHooks)-1, i, strings.Join(log, "\n"))
					}
					together++
					inTurn = 0
				case inTurn > 0 && !turnHook:
					t.Fatalf("write %q between the creates of one turn (write %d):\n%s", entry, i, strings.Join(log, "\n"))
				case verb == "create" && name == "later":
					later++
					if later > together {
						t.Fatalf("the hook of weight 1 created before the turn of weight 0:\n%s", strings.Join(log, "\n"))
					}
				}
			}
			if together != turns || later != turns {
				t.Fatalf("%d turns created together and %d hooks of weight 1, want %d each:\n%s", together, later, turns, strings.Join(log, "\n"))
			}
		})
	}
}

// TestPostDeleteHooksGoOneByOne: the hooks of a deletion, after the release is gone, are
// created by Helm one after another, each after Helm stored it as running (none created
// ahead, which nothing would delete if Helm stopped before it).
func TestPostDeleteHooksGoOneByOne(t *testing.T) {
	client, writes := loggingClient(t)
	ctx := context.Background()
	if _, err := client.UpgradeOrInstall(ctx, UpgradeRequest{ReleaseName: "app", Chart: hookChart(t, "post-delete", false), Applier: hookApplier{}}); err != nil {
		t.Fatal(err)
	}
	installed := len(writes())
	if _, err := client.Uninstall(ctx, UninstallRequest{ReleaseName: "app", KeepHooks: true}); err != nil {
		t.Fatal(err)
	}
	log := writes()[installed:]
	stored, creates := false, 0
	for i, entry := range log {
		verb, kindName, _ := strings.Cut(entry, " ")
		kind, name, _ := strings.Cut(kindName, " ")
		switch {
		case kind == "Secret" && strings.HasPrefix(name, "sh.helm.release.") && verb == "update":
			stored = true
		case verb == "create" && isTurnHook(fakecluster.Write{Kind: kind, Name: name}):
			if !stored {
				t.Fatalf("post-delete hook %s created before Helm stored it as running (write %d):\n%s", name, i, strings.Join(log, "\n"))
			}
			stored = false
			creates++
		}
	}
	if creates != len(turnHooks) {
		t.Fatalf("%d post-delete hooks created, want %d:\n%s", creates, len(turnHooks), strings.Join(log, "\n"))
	}
}

// storedHooks are the hooks of the newest revision as Helm stored them: name -> phase
// ("" never ran).
func storedHooks(t *testing.T, client *Client) map[string]string {
	t.Helper()
	rel, err := client.cfg.Releases.Last("app")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, h := range rel.Hooks {
		out[h.Name] = string(h.LastRun.Phase)
		if h.LastRun.StartedAt.IsZero() != (h.LastRun.Phase == "") {
			t.Fatalf("hook %s stored with phase %q and start %v", h.Name, h.LastRun.Phase, h.LastRun.StartedAt)
		}
	}
	return out
}

// TestHookPhasesAreStoredAsHelmStoresThem: with hooks created ahead of their turn, Helm
// stores the same phases and returns the same error as when it creates each in turn, a
// refused delete or create on the hook it belongs to, an old copy is deleted before its
// hook is created anew, and a hook of the post event is not created with the pre event's.
func TestHookPhasesAreStoredAsHelmStoresThem(t *testing.T) {
	t.Setenv("HELM_MEMORY_DRIVER_DATA", "")
	refuse := func(verb, kind, name string) fakecluster.Reaction {
		return func(w fakecluster.Write) error {
			if w.Verb == verb && w.Kind == kind && w.Name == name {
				return apierrors.NewForbidden(schema.GroupResource{Resource: strings.ToLower(kind) + "s"}, name, fmt.Errorf("refused by the test"))
			}
			return nil
		}
	}
	succeeded := map[string]string{"a-account": "Succeeded", "b-role": "Succeeded", "c-binding": "Succeeded", "d-settings": "Succeeded", "later": "Succeeded", "z-post": "Succeeded"}
	tests := []struct {
		name    string
		react   fakecluster.Reaction
		oldCopy bool
		want    map[string]string
		wantErr string
	}{
		{name: "all succeed", want: succeeded},
		{name: "an old copy", oldCopy: true, want: succeeded},
		{name: "create refused", react: refuse("create", "RoleBinding", "c-binding"),
			want: map[string]string{"a-account": "Succeeded", "b-role": "Succeeded", "c-binding": "Failed", "d-settings": "", "later": "", "z-post": ""}, wantErr: "c-binding"},
		{name: "delete before creation refused", react: refuse("delete", "RoleBinding", "c-binding"),
			want: map[string]string{"a-account": "Succeeded", "b-role": "Succeeded", "c-binding": "", "d-settings": "", "later": "", "z-post": ""}, wantErr: "c-binding"},
		{name: "create of the last refused", react: refuse("create", "ConfigMap", "d-settings"),
			want: map[string]string{"a-account": "Succeeded", "b-role": "Succeeded", "c-binding": "Succeeded", "d-settings": "Failed", "later": "", "z-post": ""}, wantErr: "d-settings"},
	}
	for _, tt := range tests {
		for _, withApplier := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, applier %v", tt.name, withApplier), func(t *testing.T) {
				run := func(oneByOne bool) (map[string]string, string) {
					cluster := fakecluster.New(t, "ns")
					if tt.oldCopy {
						old := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
							"metadata": map[string]any{"name": "d-settings", "namespace": "ns"}, "data": map[string]any{"revision": "old"}}}
						if err := cluster.Add(old); err != nil {
							t.Fatal(err)
						}
					}
					if tt.react != nil {
						cluster.React(tt.react)
					}
					client, err := NewClient(Config{Getter: cluster.Getter(), Namespace: "ns", Driver: "memory"})
					if err != nil {
						t.Fatal(err)
					}
					client.hooksOneByOne = oneByOne
					var applier Applier
					if withApplier {
						applier = hookApplier{}
					}
					_, err = client.UpgradeOrInstall(context.Background(), UpgradeRequest{ReleaseName: "app", Chart: hookChart(t, "pre-install,post-install", true), Applier: applier})
					msg := ""
					if err != nil {
						msg = err.Error()
					}
					if tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(msg, tt.wantErr) {
						t.Fatalf("one by one %v: error %v, want one naming %q", oneByOne, err, tt.wantErr)
					}
					var creates []string
					for _, w := range cluster.Writes() {
						if w.Verb == "create" {
							creates = append(creates, w.Name)
						}
					}
					if i := slices.Index(creates, "z-post"); i >= 0 && i < slices.Index(creates, "app") {
						t.Fatalf("one by one %v: the post-install hook created before the release's objects: %v", oneByOne, creates)
					}
					if tt.oldCopy {
						if cm := cluster.Get("ConfigMap", "ns", "d-settings"); cm == nil || cm.Object["data"].(map[string]any)["revision"] != "1" {
							t.Fatalf("one by one %v: the old copy of d-settings stayed: %v", oneByOne, cm)
						}
					}
					return storedHooks(t, client), msg
				}
				inTurn, inTurnErr := run(true)
				if !maps.Equal(inTurn, tt.want) {
					t.Fatalf("Helm stores %v, the test wants %v", inTurn, tt.want)
				}
				ahead, aheadErr := run(false)
				if !maps.Equal(ahead, inTurn) || aheadErr != inTurnErr {
					t.Fatalf("created ahead, stored %v with error %q; one by one %v with error %q", ahead, aheadErr, inTurn, inTurnErr)
				}
			})
		}
	}
}

// TestHooksAfterAnotherKindWaitForIt: an inert hook after a hook of another kind of its
// weight (here a Service; a Namespace it lives in or a Job reading its old copy alike) is
// not created ahead of it: the run of hooks created together ends there, and the hook
// after it goes in its own turn, once Helm stored it as running.
func TestHooksAfterAnotherKindWaitForIt(t *testing.T) {
	client, writes := loggingClient(t)
	hook := func(kind, name, rest string) []byte {
		return []byte(fmt.Sprintf("apiVersion: v1\nkind: %s\nmetadata:\n  name: %s\n  annotations: {helm.sh/hook: pre-install}\n%s", kind, name, rest))
	}
	ch, err := charts.LoadChartFiles("app", map[string][]byte{
		"Chart.yaml":         []byte("apiVersion: v2\nname: app\nversion: 0.1.0\n"),
		"templates/a.yaml":   hook("ServiceAccount", "a-account", ""),
		"templates/b.yaml":   hook("Service", "b-service", "spec: {clusterIP: None, ports: [{port: 80}]}\n"),
		"templates/c.yaml":   hook("ConfigMap", "c-settings", "data: {a: b}\n"),
		"templates/app.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpgradeOrInstall(context.Background(), UpgradeRequest{ReleaseName: "app", Chart: ch, Applier: hookApplier{}}); err != nil {
		t.Fatal(err)
	}
	log := writes()
	var order []string
	for _, entry := range log {
		verb, kindName, _ := strings.Cut(entry, " ")
		kind, name, _ := strings.Cut(kindName, " ")
		switch {
		case kind == "Secret" && strings.HasPrefix(name, "sh.helm.release.") && verb == "update":
			order = append(order, "store")
		case verb == "create" && strings.Contains("a-account b-service c-settings", name):
			order = append(order, "create "+name)
		}
	}
	want := "store,create a-account,store,create b-service,store,create c-settings"
	if got := strings.Join(order, ","); !strings.Contains(got, want) {
		t.Fatalf("hook creates and Helm's stores %s, want %s in it:\n%s", got, want, strings.Join(log, "\n"))
	}
}

// loggingClient is a client of a fake cluster that logs every write ("verb Kind name");
// writes returns the log so far.
func loggingClient(t *testing.T) (client *Client, writes func() []string) {
	t.Helper()
	t.Setenv("HELM_MEMORY_DRIVER_DATA", "")
	cluster := fakecluster.New(t, "ns")
	var mu sync.Mutex
	var log []string
	cluster.Hold(func(w fakecluster.Write) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf("%s %s %s", w.Verb, w.Kind, w.Name))
	})
	client, err := NewClient(Config{Getter: cluster.Getter(), Namespace: "ns", Driver: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return client, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}
}
