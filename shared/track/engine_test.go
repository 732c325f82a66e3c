package track

import (
	"context"
	"github.com/kubectl-converge/converge/shared/track/readiness"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var knativeService = schema.GroupVersionKind{Group: "serving.example.dev", Version: "v1", Kind: "Service"}

func testClients(t *testing.T, kube *fake.Clientset, objects ...runtime.Object) Clients {
	t.Helper()
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(knativeService, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{{Group: knativeService.Group, Version: "v1", Resource: "services"}: "ServiceList"}, objects...)
	return Clients{Kube: kube, Dynamic: dyn, Mapper: mapper}
}

func readyDeployment(name, uid string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid), Generation: 1},
		Spec:       appsv1.DeploymentSpec{Replicas: &one},
		Status:     appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1, ReadyReplicas: 1},
	}
}

func deploymentRef(name string) Ref {
	return Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: name}
}

// recorder is a sink that keeps the events for assertions.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) sink(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) lines(kind EventType) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == kind {
			prefix := ""
			if e.Object != nil {
				prefix = e.Object.String() + " "
			}
			out = append(out, prefix+e.Line)
		}
	}
	return out
}

// timeUpOnce is a run's deadline that runs out once the tracker has reported what a test
// waits for, not after a fixed time: a loaded machine can take longer than any fixed time to
// start the informers, and the result would then say only "waiting". The context ends with
// context.DeadlineExceeded as its cause, as --timeout does; a minute bounds a run whose
// reports never get there (a regression), so that it fails rather than hangs.
type timeUpOnce struct {
	recorder
	ctx    context.Context
	cancel context.CancelCauseFunc
	// reached is asked after every report with the last status of each object.
	reached func(last map[Ref]Status) bool
	last    map[Ref]Status
}

func newTimeUpOnce(t *testing.T, reached func(last map[Ref]Status) bool) *timeUpOnce {
	ctx, cancel := context.WithCancelCause(context.Background())
	tu := &timeUpOnce{ctx: ctx, cancel: cancel, reached: reached, last: map[Ref]Status{}}
	timer := time.AfterFunc(time.Minute, func() { cancel(context.DeadlineExceeded) })
	t.Cleanup(func() { timer.Stop(); cancel(nil) })
	return tu
}

func (tu *timeUpOnce) sink(e Event) {
	tu.recorder.sink(e)
	if e.Type != EventTypeStatus {
		return
	}
	tu.mu.Lock()
	tu.last[*e.Object] = *e.Status
	reached := tu.reached(tu.last)
	tu.mu.Unlock()
	if reached {
		tu.cancel(context.DeadlineExceeded)
	}
}

func forbid(kube *fake.Clientset, verb, resource string) {
	kube.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
	})
	kube.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
	})
}

func findResult(t *testing.T, res *Result, ref Ref) ObjectResult {
	t.Helper()
	for _, o := range res.Objects {
		if o.Object == ref {
			return o
		}
	}
	t.Fatalf("no result for %s in %+v", ref, res.Objects)
	return ObjectResult{}
}

// TestTrackWithoutEvents: a deployer who may not list events gets a ready Deployment judged
// from its own status, at once, with one line saying what is missing.
func TestTrackWithoutEvents(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		want     string
	}{
		{"events forbidden", "events", "no events: cannot list and watch events in namespace ns"},
		{"pods forbidden", "pods", "no pod details: cannot list and watch pods in namespace ns"},
		{"replicasets forbidden", "replicasets", "no rollout details: cannot list and watch replicasets.apps in namespace ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(readyDeployment("app", "u1"))
			forbid(kube, "list", tt.resource)
			rec := &recorder{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Track(ctx, testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy()}}, DefaultOptions(), rec.sink)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("tracking a ready Deployment ran until its deadline")
			}
			if got := findResult(t, res, deploymentRef("app")); got.Status.State != StateReady {
				t.Fatalf("result %+v, want ready", got)
			}
			var said []string
			for _, l := range rec.lines(EventTypeStage) {
				if strings.Contains(l, tt.want) {
					said = append(said, l)
				}
			}
			if len(said) != 1 {
				t.Fatalf("lines about the missing permission %q, want one containing %q; all: %q", said, tt.want, rec.lines(EventTypeStage))
			}
		})
	}
}

// TestTrackWatchForbiddenAfterList: a permission lost between the list and the watch (a
// Role edited mid-run) stops that informer alone; the run still finishes on the object's own
// status and says once what it lost.
func TestTrackWatchForbiddenAfterList(t *testing.T) {
	kube := fake.NewClientset(readyDeployment("app", "u1"))
	kube.PrependWatchReactor("events", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", nil)
	})
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Track(ctx, testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy()}}, DefaultOptions(), rec.sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := findResult(t, res, deploymentRef("app")); got.Status.State != StateReady || ctx.Err() != nil {
		t.Fatalf("result %+v (context %v), want ready before the deadline", got.Status, ctx.Err())
	}
	if lines := rec.lines(EventTypeStage); len(lines) > 1 {
		t.Fatalf("said %q, want at most one line about events", lines)
	}
}

// TestTrackKnownDenied: what the preflight found denied is never listed.
func TestTrackKnownDenied(t *testing.T) {
	kube := fake.NewClientset(readyDeployment("app", "u1"))
	access := NewAccess()
	access.Deny(ResourceEvents, "ns")
	opts := DefaultOptions()
	opts.Access = access
	if _, err := Track(context.Background(), testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy()}}, opts, func(Event) {}); err != nil {
		t.Fatal(err)
	}
	for _, a := range kube.Actions() {
		if a.GetResource().Resource == "events" {
			t.Fatalf("tracking read events the preflight found denied: %s", a.GetVerb())
		}
	}
}

// TestTrackFailingListEndsWithItsContext: a list the API server keeps refusing never keeps
// Track past its context; the result names what it was waiting for.
func TestTrackFailingListEndsWithItsContext(t *testing.T) {
	kube := fake.NewClientset(readyDeployment("app", "u1"))
	kube.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is down")
	})
	// The time runs out once the failing list was reported, while it keeps failing.
	run := newTimeUpOnce(t, func(last map[Ref]Status) bool {
		return strings.Contains(last[deploymentRef("app")].Detail, "cannot list")
	})
	done := make(chan *Result)
	go func() {
		res, _ := Track(run.ctx, testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy()}}, DefaultOptions(), run.sink)
		done <- res
	}()
	// Track that outlived its context would hang here until the test binary's own timeout
	// fails the run with every goroutine's stack.
	res := <-done
	got := findResult(t, res, deploymentRef("app"))
	if got.Status.State != StateProgressing || !strings.Contains(got.Status.Detail, "cannot list deployments.apps in namespace ns") {
		t.Fatalf("result %+v, want progressing naming the failing list", got.Status)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "deploy/app not ready: cannot list deployments.apps") {
		t.Fatalf("error %v", err)
	}
}

// TestTrackIdentityByGroup: a custom resource of kind Service beside a core Service of the
// same name is judged from its own object.
func TestTrackIdentityByGroup(t *testing.T) {
	core := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "core"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1"}}
	custom := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.example.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "uid": "custom", "generation": int64(1)},
		"status": map[string]any{"observedGeneration": int64(1), "conditions": []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "RevisionMissing", "message": "revision web-00001 is not ready"},
		}},
	}}
	kube := fake.NewClientset(core)
	clients := testClients(t, kube, custom)
	coreRef := Ref{Version: "v1", Kind: "Service", Namespace: "ns", Name: "web"}
	customRef := Ref{Group: knativeService.Group, Version: "v1", Kind: "Service", Namespace: "ns", Name: "web"}
	if coreRef.String() == customRef.String() {
		t.Fatalf("both read %q", coreRef.String())
	}
	// The custom Service never gets ready: the time runs out once each was judged from an
	// object (the core one ready, the custom one on a condition).
	run := newTimeUpOnce(t, func(last map[Ref]Status) bool {
		return last[coreRef].State == StateReady && strings.Contains(last[customRef].Detail, "revision web-00001 is not ready")
	})
	res, err := Track(run.ctx, clients, []Target{{Ref: coreRef, Policy: readiness.DefaultPolicy()}, {Ref: customRef, Policy: readiness.DefaultPolicy()}}, DefaultOptions(), run.sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := findResult(t, res, coreRef); got.Status.State != StateReady {
		t.Fatalf("core service: %+v", got.Status)
	}
	got := findResult(t, res, customRef)
	if got.Status.State != StateProgressing || !strings.Contains(got.Status.Detail, "revision web-00001 is not ready") {
		t.Fatalf("custom service: %+v, want progressing with its own condition", got.Status)
	}
	if customRef.String() != "service.serving.example.dev/web" || coreRef.String() != "svc/web" {
		t.Fatalf("names %q and %q", coreRef, customRef)
	}
}

// TestTrackAttributionByOwner: Deployment app must not claim the pods and events of
// Deployment app-worker, whose name it prefixes.
func TestTrackAttributionByOwner(t *testing.T) {
	app, worker := readyDeployment("app", "d-app"), readyDeployment("app-worker", "d-worker")
	worker.Status.AvailableReplicas, worker.Status.ReadyReplicas, worker.Status.UnavailableReplicas = 0, 0, 1
	controller := func(kind, name, uid string) []metav1.OwnerReference {
		yes := true
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(uid), Controller: &yes}}
	}
	rs := func(name, uid, owner, ownerUID string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid), OwnerReferences: controller("Deployment", owner, ownerUID)}}
	}
	app.Annotations, worker.Annotations = map[string]string{}, map[string]string{}
	crashing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app-worker-5d-x1", Namespace: "ns", UID: "p-worker", OwnerReferences: controller("ReplicaSet", "app-worker-5d", "rs-worker")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "worker", RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off restarting"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
		}}},
	}
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "ev1", Namespace: "ns", UID: "e1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: crashing.Name, Namespace: "ns", UID: crashing.UID},
		Type:           corev1.EventTypeWarning, Reason: "BackOff", Message: "Back-off restarting failed container worker", Count: 4,
		LastTimestamp: metav1.NewTime(time.Now()),
	}
	kube := fake.NewClientset(app, worker, rs("app-7c", "rs-app", "app", "d-app"), rs("app-worker-5d", "rs-worker", "app-worker", "d-worker"), crashing, event)
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := DefaultOptions()
	opts.PodLogs = false
	opts.Since = time.Now().Add(-time.Minute)
	res, err := Track(ctx, testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy()}, {Ref: deploymentRef("app-worker"), Policy: readiness.DefaultPolicy()}}, opts, rec.sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := findResult(t, res, deploymentRef("app")); got.Status.State != StateReady {
		t.Fatalf("app: %+v, want ready", got.Status)
	}
	got := findResult(t, res, deploymentRef("app-worker"))
	if got.Status.State != StateFailed || got.Status.Failure.Pod != crashing.Name {
		t.Fatalf("app-worker: %+v, want failed in pod %s", got.Status, crashing.Name)
	}
	events := rec.lines(EventTypeKubeEvent)
	if len(events) != 1 || !strings.HasPrefix(events[0], "deploy/app-worker BackOff") {
		t.Fatalf("events shown %q, want the BackOff under deploy/app-worker only", events)
	}
}

// TestTrackTimeoutExplains: an object never ready carries its pod, container, last warning
// and status into the result when the time runs out.
func TestTrackTimeoutExplains(t *testing.T) {
	d := readyDeployment("web", "d-web")
	d.Status.AvailableReplicas, d.Status.ReadyReplicas, d.Status.UnavailableReplicas = 0, 0, 1
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	yes := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "rs-web", Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: "d-web", Controller: &yes}}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-a", Namespace: "ns", UID: "p-web", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1", UID: "rs-web", Controller: &yes}}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: false,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
	probe := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev", Namespace: "ns", UID: "e"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod.Name, UID: pod.UID},
		Type: corev1.EventTypeWarning, Reason: "Unhealthy", Message: "Readiness probe failed: HTTP probe failed with statuscode: 503", Count: 1, LastTimestamp: metav1.NewTime(time.Now())}
	kube := fake.NewClientset(d, rs, pod, probe)
	// The time runs out once the Deployment was judged from its object, its pods and events.
	run := newTimeUpOnce(t, func(last map[Ref]Status) bool {
		return strings.Contains(last[deploymentRef("web")].Detail, "available 0/1")
	})
	opts := DefaultOptions()
	opts.PodLogs = false
	res, err := Track(run.ctx, testClients(t, kube), []Target{{Ref: deploymentRef("web"), Policy: readiness.DefaultPolicy()}}, opts, run.sink)
	if err != nil {
		t.Fatal(err)
	}
	got := findResult(t, res, deploymentRef("web"))
	f := got.Status.Failure
	if got.Status.State != StateProgressing || f == nil || f.Pod != "web-1-a" || f.Container != "app" || len(f.Events) != 1 {
		t.Fatalf("timed-out result %+v (failure %+v)", got.Status, f)
	}
	want := "deploy/web not ready: available 0/1"
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "last warning: pod web-1-a: Unhealthy: Readiness probe failed") {
		t.Fatalf("error %v, want %q and the probe warning", err, want)
	}
}

// TestTrackTimeFromApply: an object's time counts from when it was applied.
func TestTrackTimeFromApply(t *testing.T) {
	kube := fake.NewClientset(readyDeployment("app", "u1"))
	applied := time.Now().Add(-6 * time.Second)
	res, err := Track(context.Background(), testClients(t, kube), []Target{{Ref: deploymentRef("app"), Policy: readiness.DefaultPolicy(), Applied: applied}}, DefaultOptions(), func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if took := findResult(t, res, deploymentRef("app")).Took; took < 6*time.Second {
		t.Fatalf("took %s, want at least the 6s since it was applied", took)
	}
}

func TestNoActivityTimeoutDefaultsForCustomResourcesOnly(t *testing.T) {
	withAnnotation := readiness.DefaultPolicy()
	withAnnotation.NoActivityTimeout = time.Minute
	tests := []struct {
		name    string
		policy  Policy
		generic bool
		want    time.Duration
	}{
		{"custom resource without the annotation: kubedog's 4m", readiness.DefaultPolicy(), true, 4 * time.Minute},
		{"custom resource with the annotation", withAnnotation, true, time.Minute},
		{"built-in kind without the annotation: none", readiness.DefaultPolicy(), false, 0},
		{"built-in kind with the annotation", withAnnotation, false, time.Minute},
	}
	for _, tt := range tests {
		o := &trackedObject{Target: Target{Policy: tt.policy}, generic: tt.generic}
		if got := o.noActivityTimeout(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestReadyOnceApplied: an object the deploy has just written whose kind has no readiness of
// its own is ready without a request; anything else, or one not written by the deploy (the
// track command), is watched.
func TestReadyOnceApplied(t *testing.T) {
	applied := time.Now()
	tests := []struct {
		name      string
		ref       Ref
		applied   time.Time
		wantState State
		watched   bool
	}{
		{"applied service account", Ref{Version: "v1", Kind: "ServiceAccount", Namespace: "ns", Name: "sa"}, applied, StateReady, false},
		{"applied cluster role binding", Ref{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding", Name: "b"}, applied, StateReady, false},
		{"applied webhook configuration", Ref{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration", Name: "w"}, applied, StateReady, false},
		{"service account not written by the deploy", Ref{Version: "v1", Kind: "ServiceAccount", Namespace: "ns", Name: "sa"}, time.Time{}, StateProgressing, true},
		{"applied deployment", deploymentRef("absent"), applied, StateProgressing, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			clients := testClients(t, kube)
			mapper := clients.Mapper.(*meta.DefaultRESTMapper)
			mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, meta.RESTScopeNamespace)
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{{Version: "v1", Resource: "serviceaccounts"}: "ServiceAccountList"})
			clients.Dynamic = dyn
			// An object that is watched is absent: the time runs out once its informer said so.
			run := newTimeUpOnce(t, func(last map[Ref]Status) bool {
				return last[tt.ref].Detail == "waiting for the object to appear"
			})
			res, err := Track(run.ctx, clients, []Target{{Ref: tt.ref, Policy: readiness.DefaultPolicy(), Applied: tt.applied}}, DefaultOptions(), run.sink)
			if err != nil {
				t.Fatal(err)
			}
			if got := findResult(t, res, tt.ref).Status.State; got != tt.wantState {
				t.Fatalf("state %s, want %s", got, tt.wantState)
			}
			requests := len(kube.Actions()) + len(dyn.Actions())
			if watched := requests > 0; watched != tt.watched {
				t.Fatalf("watched %v (%d requests), want %v", watched, requests, tt.watched)
			}
		})
	}
}
