package track

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// Clients are the API clients tracking needs.
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
}

// Target is one object to track and how.
type Target struct {
	Ref    Ref
	Policy Policy
	// Applied is when the deploy sent the object; the result's time counts from it, and a kind
	// with no readiness of its own (RBAC, ConfigMaps, Secrets...) is ready at once. Zero: the
	// object is watched from the start of tracking.
	Applied time.Time
}

// Options tune a tracking run.
type Options struct {
	// Limits are the graces for pod conditions.
	Limits Limits
	// PodLogs streams the logs of the pods being rolled out.
	PodLogs bool
	// FailureLogLines is how many last log lines a failure carries.
	FailureLogLines int64
	// Heartbeat is how often the still awaited objects are listed; zero: never.
	Heartbeat time.Duration
	// Since is when the objects were applied: earlier events and log lines are not shown.
	Since time.Time
	// Deletion waits for the objects to be gone instead of ready.
	Deletion bool
	// NoSummary leaves the summary event out, for callers that track in several runs and
	// summarize once.
	NoSummary bool
	// Access records what may not be read, shared by the runs of one command; nil: this run
	// learns alone.
	Access *Access
}

// DefaultOptions are the options used unless flags change them.
func DefaultOptions() Options {
	return Options{Limits: readiness.DefaultLimits(), PodLogs: true, FailureLogLines: 20, Heartbeat: 30 * time.Second}
}

// builtinKind is a kind the rules judge from typed objects: its resource, its informer, and
// whether its pods (and ReplicaSets) are followed.
type builtinKind struct {
	resource    schema.GroupResource
	informer    func(informers.SharedInformerFactory) cache.SharedIndexInformer
	pods        bool
	replicaSets bool
}

var builtinKinds = map[schema.GroupKind]builtinKind{
	{Group: "apps", Kind: "Deployment"}: {schema.GroupResource{Group: "apps", Resource: "deployments"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Apps().V1().Deployments().Informer()
		}, true, true},
	{Group: "apps", Kind: "StatefulSet"}: {schema.GroupResource{Group: "apps", Resource: "statefulsets"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Apps().V1().StatefulSets().Informer()
		}, true, false},
	{Group: "apps", Kind: "DaemonSet"}: {schema.GroupResource{Group: "apps", Resource: "daemonsets"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Apps().V1().DaemonSets().Informer()
		}, true, false},
	{Group: "apps", Kind: "ReplicaSet"}: {ResourceReplicaSets,
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Apps().V1().ReplicaSets().Informer()
		}, true, false},
	{Group: "batch", Kind: "Job"}: {schema.GroupResource{Group: "batch", Resource: "jobs"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Batch().V1().Jobs().Informer()
		}, true, false},
	{Kind: "Pod"}: {ResourcePods,
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Core().V1().Pods().Informer()
		}, false, false},
	{Kind: "Service"}: {schema.GroupResource{Resource: "services"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Core().V1().Services().Informer()
		}, false, false},
	{Kind: "PersistentVolumeClaim"}: {schema.GroupResource{Resource: "persistentvolumeclaims"},
		func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Core().V1().PersistentVolumeClaims().Informer()
		}, false, false},
}

type trackedObject struct {
	Target
	// generic is set once the object is judged as a custom resource (built-in rules,
	// kstatus, phase fields): it then has kubedog's no-activity default.
	generic  bool
	status   Status
	started  time.Time
	finished time.Duration
	lastMove time.Time

	// src is the informer of the object's own kind; nil until its kind is mapped.
	src      *source
	storeKey string
	mapErr   error
	// mapping is set while the kind's resource is asked for in the background.
	mapping bool
	// uid and pods are from the latest evaluation: they attribute events and explain a
	// timeout.
	uid  string
	pods []*corev1.Pod
}

type tracker struct {
	clients Clients
	opts    Options
	sink    Sink
	start   time.Time
	// origin is the zero of the events' clock: the start of the deploy (Options.Since).
	origin  time.Time
	objects []*trackedObject

	sources *sources
	kick    chan struct{}
	// said carries lines from informer goroutines to the loop, which alone calls the sink.
	said chan Event

	mapped chan mapResult

	logs  *logFollower
	index *ownerIndex

	seenEvents  map[string]int32
	reasonCount map[string]int
	storage     *storageClasses
	fetches     sync.WaitGroup
	fetchedMu   sync.Mutex
	fetched     []func()
}

// Track follows the targets until every blocking one is ready, one fails (with the default
// fail mode), or ctx ends (a timeout: the result then holds the unfinished objects, each with
// its last status, warnings and log lines). Events go to sink, ending with a summary. Track
// never outlives ctx, whatever the API server answers.
func Track(ctx context.Context, clients Clients, targets []Target, opts Options, sink Sink) (*Result, error) {
	t := &tracker{
		clients:     clients,
		opts:        opts,
		sink:        sink,
		start:       time.Now(),
		kick:        make(chan struct{}, 1),
		said:        make(chan Event, 64),
		mapped:      make(chan mapResult),
		seenEvents:  map[string]int32{},
		reasonCount: map[string]int{},
	}
	if t.opts.Access == nil {
		t.opts.Access = NewAccess()
	}
	if t.opts.Since.IsZero() {
		t.opts.Since = t.start
	}
	t.origin = t.opts.Since
	t.sources = newSources(clients, t.opts.Access, t.notify, t.say)
	watchCtx, stopWatches := context.WithCancel(context.Background())
	defer stopWatches()
	t.logs = newLogFollower(watchCtx, clients.Kube, t.opts, t.opts.Access, t.notify, t.say)
	t.storage = newStorageClasses(watchCtx, clients.Kube, t.notify)
	for _, target := range targets {
		started := target.Applied
		if started.IsZero() {
			started = t.start
		}
		o := &trackedObject{Target: target, status: Status{State: StateProgressing, Detail: "waiting"}, started: started, lastMove: t.start}
		t.objects = append(t.objects, o)
		if detail, ok := readyOnceApplied(target, t.opts.Deletion); ok {
			// Nothing to watch: the deploy's successful write is the readiness.
			now := time.Now()
			o.status, o.finished = Status{State: StateReady, Detail: detail}, now.Sub(started)
			ref, status := o.Ref, o.status
			sink(Event{Type: EventTypeStatus, Time: now, Elapsed: now.Sub(t.origin), Object: &ref, Status: &status})
			continue
		}
		t.open(o)
	}
	if err := t.sources.start(watchCtx); err != nil {
		return nil, err
	}
	res := t.loop(ctx)
	if t.opts.NoSummary {
		return res, nil
	}
	sink(Event{Type: EventTypeSummary, Time: time.Now(), Elapsed: time.Since(t.origin), Results: res.Objects})
	return res, nil
}

func (t *tracker) notify() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// say queues a line for the loop to emit; lines beyond the queue are dropped rather than
// block an informer.
func (t *tracker) say(line string, warning bool) {
	select {
	case t.said <- Event{Type: EventTypeStage, Time: time.Now(), Elapsed: time.Since(t.origin), Stage: "tracking", Line: line, Warning: warning}:
	default:
	}
}

// open picks the informers the object is judged and explained from.
func (t *tracker) open(o *trackedObject) {
	ns := o.Ref.Namespace
	if kind, ok := builtinKinds[o.Ref.GroupKind()]; ok {
		o.src = t.sources.typed(kind.resource, ns, false, kind.informer)
		o.storeKey = storeKey(ns, o.Ref.Name)
		if kind.pods && !t.opts.Deletion {
			t.sources.pods(ns)
		}
		if kind.replicaSets && !t.opts.Deletion {
			t.sources.replicaSets(ns)
		}
	} else {
		o.mapErr = t.mapKind(o)
	}
	if ns != "" && !t.opts.Deletion {
		t.sources.events(ns)
	}
}

// mapKind finds the resource of a kind the rules judge from unstructured objects.
func (t *tracker) mapKind(o *trackedObject) error {
	mapping, err := t.clients.Mapper.RESTMapping(o.Ref.GroupKind(), o.Ref.Version)
	if err != nil {
		return err
	}
	ns := o.Ref.Namespace
	if mapping.Scope.Name() == meta.RESTScopeNameRoot {
		ns = ""
	}
	o.src = t.sources.dynamic(mapping.Resource, ns)
	o.storeKey = storeKey(ns, o.Ref.Name)
	return nil
}

func storeKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func (t *tracker) loop(ctx context.Context) *Result {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var heartbeat <-chan time.Time
	if t.opts.Heartbeat > 0 {
		hb := time.NewTicker(t.opts.Heartbeat)
		defer hb.Stop()
		heartbeat = hb.C
	}
	// A rollout changes the caches hundreds of times a second and a log line arrives as
	// often; judging every object anew on each took most of the process's CPU, taken from
	// the control plane it waits for. So log lines and said lines judge nothing, and the
	// changes of the caches are judged at most once per minEvaluationInterval, or less often
	// when an evaluation is expensive (pacer).
	pace := newPacer()
	var deferred <-chan time.Time
	evaluate := true
	for {
		if evaluate {
			began := time.Now()
			deferred = nil
			over := t.evaluate()
			pace.evaluated(began, time.Now())
			if over {
				t.finish(ctx)
				return t.result(false)
			}
		}
		evaluate = false
		select {
		case <-ctx.Done():
			t.finish(ctx)
			return t.result(true)
		case <-t.kick:
			switch now, wait := pace.changed(time.Now()); {
			case now:
				evaluate = true
			case wait > 0:
				deferred = time.After(wait)
			}
		case <-deferred:
			evaluate = true
		case <-tick.C:
			evaluate = true
		case e := <-t.said:
			t.sink(e)
		case line := <-t.logs.lines:
			t.sink(line)
		case r := <-t.mapped:
			t.mappedKind(r)
			evaluate = true
		case <-heartbeat:
			t.sink(Event{Type: EventTypeWaiting, Time: time.Now(), Elapsed: time.Since(t.origin), Waiting: t.waiting()})
		}
	}
}

// minEvaluationInterval bounds how often cache changes are judged: a readiness or failure
// is seen this much later than its change at most while an evaluation is cheap (at most
// maxEvaluationGap later when it is not), far below a round trip of a rollout.
const minEvaluationInterval = 20 * time.Millisecond

// evaluationCostShare: the pause after an evaluation is at least this many times as long as
// the evaluation took, so that judging a thousand objects takes no more than a twentieth of
// a core from the control plane it waits for (at N=1000 a fifth of a core, at four times,
// cost the rollout more than the later look at a readiness did).
const evaluationCostShare = 20

// maxEvaluationGap caps the pause: an evaluation made slow by a slow printer or a loaded
// machine must not leave a readiness unseen for long.
const maxEvaluationGap = 250 * time.Millisecond

// pacer spaces the evaluations of cache changes at least minEvaluationInterval apart, and
// further apart when an evaluation is expensive.
type pacer struct {
	last    time.Time
	gap     time.Duration
	pending bool
	// took are the last evaluations' lengths: the least of them is what an evaluation
	// costs, as one that waited for a core on a loaded machine looks expensive.
	took [8]time.Duration
	n    int
}

func newPacer() pacer { return pacer{gap: minEvaluationInterval} }

// evaluated is an evaluation that ran from began to ended.
func (p *pacer) evaluated(began, ended time.Time) {
	p.last, p.pending = ended, false
	p.took[p.n%len(p.took)] = ended.Sub(began)
	p.n++
	cost := p.took[0]
	for _, took := range p.took[1:min(p.n, len(p.took))] {
		cost = min(cost, took)
	}
	p.gap = min(max(minEvaluationInterval, evaluationCostShare*cost), maxEvaluationGap)
}

// changed is a change of the caches at at: judge it now, or after wait (a zero wait and
// false when an evaluation is already pending, which will see this change too).
func (p *pacer) changed(at time.Time) (now bool, wait time.Duration) {
	if p.pending {
		return false, 0
	}
	if wait := p.gap - at.Sub(p.last); wait > 0 {
		p.pending = true
		return false, wait
	}
	return true, 0
}

// finish waits for the failure logs being fetched (each bounded, and never past ctx) and
// prints what is queued.
func (t *tracker) finish(ctx context.Context) {
	done := make(chan struct{})
	redact.Go(func() { t.fetches.Wait(); close(done) })
	select {
	case <-done:
	case <-ctx.Done():
	}
	t.fetchedMu.Lock()
	for _, apply := range t.fetched {
		apply()
	}
	t.fetched = nil
	t.fetchedMu.Unlock()
	// Events cached since the last pass: the warning that explains a failure can reach the
	// cache just after the pod status the failure was judged from (or after the pass's event
	// step). Objects that ended ready get none: a late warning of an old pod explains nothing.
	var unready []*trackedObject
	for _, o := range t.objects {
		if o.status.State != StateReady {
			unready = append(unready, o)
		}
	}
	t.index = newOwnerIndex(t.sources)
	t.resolveUIDs()
	t.emitKubeEvents(unready)
	for {
		select {
		case e := <-t.said:
			t.sink(e)
		case line := <-t.logs.lines:
			t.sink(line)
		default:
			return
		}
	}
}

// result is where every object stands; at a timeout, each unfinished one carries why it is
// not ready: its pod and container, its last warnings and log lines.
func (t *tracker) result(timedOut bool) *Result {
	t.index = newOwnerIndex(t.sources)
	res := &Result{}
	for _, o := range t.objects {
		took, status := o.finished, o.status
		if !status.State.Done() {
			took = time.Since(o.started)
			if o.Policy.Termination == readiness.TerminationModeNonBlocking {
				status = Status{State: StateSkipped, Detail: "not waited for (NonBlocking): " + status.Detail}
			} else if timedOut {
				status.Failure = t.notReady(o)
			}
		}
		res.Objects = append(res.Objects, ObjectResult{Object: o.Ref, Status: status, Took: took})
	}
	return res
}

// maxTimeoutEvents bounds the warnings a timed-out object carries.
const maxTimeoutEvents = 5

// notReady explains an object still progressing at a timeout.
func (t *tracker) notReady(o *trackedObject) *Failure {
	f := &Failure{Reason: "NotReady", Message: o.status.Detail}
	if pod, container := notReadyContainer(o.pods); pod != nil {
		f.Pod, f.Container = pod.Name, container
	}
	events := t.index.warnings(o)
	if len(events) > maxTimeoutEvents {
		events = events[len(events)-maxTimeoutEvents:]
	}
	f.Events = events
	f.Logs = t.logs.tail(o.Ref, f.Pod, f.Container)
	if f.Pod == "" && len(f.Logs) > 0 {
		f.Pod, f.Container = t.logs.lastStream(o.Ref)
	}
	return f
}

func (t *tracker) waiting() []ObjectResult {
	var out []ObjectResult
	for _, o := range t.objects {
		if !o.status.State.Done() {
			out = append(out, ObjectResult{Object: o.Ref, Status: o.status, Took: time.Since(o.started)})
		}
	}
	return out
}

// evaluate judges every unfinished object; it reports whether tracking is over.
func (t *tracker) evaluate() bool {
	now := time.Now()
	t.index = newOwnerIndex(t.sources)
	t.resolveUIDs()
	t.emitKubeEvents(t.objects)
	over := true
	for _, o := range t.objects {
		if !o.status.State.Done() {
			next := t.evalObject(o, now)
			if next.State == StateFailed {
				switch o.Policy.FailMode {
				case readiness.FailModeIgnoreAndContinueDeployProcess:
					next = Status{State: StateSkipped, Detail: "failure ignored (fail-mode IgnoreAndContinueDeployProcess): " + next.Failure.Error(), Failure: next.Failure}
				default:
					t.fetchFailureLogs(o, next.Failure)
				}
			}
			if limit := o.noActivityTimeout(); limit > 0 && next.State == StateProgressing && next.Detail == o.status.Detail && now.Sub(o.lastMove) > limit {
				next = readiness.Failed(&Failure{Reason: "NoActivity", Message: fmt.Sprintf("no progress for %s: %s", limit, next.Detail)})
			}
			if next.State != o.status.State || next.Detail != o.status.Detail || failureText(next) != failureText(o.status) {
				o.lastMove = now
				o.status = next
				if next.State.Done() {
					o.finished = now.Sub(o.started)
				}
				ref := o.Ref
				status := next
				t.sink(Event{Type: EventTypeStatus, Time: now, Elapsed: now.Sub(t.origin), Object: &ref, Status: &status})
			}
		}
		if o.status.State == StateFailed && o.Policy.FailMode == readiness.FailModeFailWholeDeployProcessImmediately {
			return true
		}
		if !o.status.State.Done() && o.Policy.Termination != readiness.TerminationModeNonBlocking {
			over = false
		}
	}
	return over
}

// resolveUIDs learns the UIDs of objects that appeared, so that their events are shown in
// the pass that judges them.
func (t *tracker) resolveUIDs() {
	for _, o := range t.objects {
		if o.uid != "" || o.src == nil {
			continue
		}
		if h, _ := t.index.health(o.src); h != healthSynced {
			continue
		}
		if obj, exists, err := o.src.informer.GetStore().GetByKey(o.storeKey); err == nil && exists {
			if m, err := meta.Accessor(obj); err == nil {
				o.uid = string(m.GetUID())
			}
		}
	}
}

func failureText(s Status) string {
	if s.Failure == nil {
		return ""
	}
	return s.Failure.Error()
}

// waitForSource says why an object cannot be judged yet, or that it can (ok).
func (t *tracker) waitForSource(o *trackedObject) (Status, bool) {
	if o.src == nil {
		t.mapLater(o)
		if o.mapErr != nil {
			return readiness.Progressing("kind %s is not known to the API server: %v", o.Ref.GroupKind(), o.mapErr), false
		}
		return readiness.Progressing("waiting"), false
	}
	h, err := t.index.health(o.src)
	switch h {
	case healthSynced:
		return Status{}, true
	case healthDenied:
		return readiness.Failed(&Failure{Reason: "Forbidden", Message: fmt.Sprintf("cannot list and watch %s to track %s: %v; grant list and watch on it, or annotate the object werf.io/track-termination-mode: NonBlocking", o.src.key, o.Ref, err)}), false
	case healthFailing:
		return readiness.Progressing("cannot list %s: %v (retrying)", o.src.key, err), false
	}
	return readiness.Progressing("waiting"), false
}

// mapResult is the answer of a mapping asked for in the background.
type mapResult struct {
	object  *trackedObject
	mapping *meta.RESTMapping
	err     error
}

// mapLater asks for the resource of a kind not mapped yet (a CRD created a moment ago) in
// the background: discovery may take a while, and the loop never waits on the API server.
func (t *tracker) mapLater(o *trackedObject) {
	if o.mapping {
		return
	}
	o.mapping = true
	gk, version := o.Ref.GroupKind(), o.Ref.Version
	redact.Go(func() {
		m, err := t.clients.Mapper.RESTMapping(gk, version)
		select {
		case t.mapped <- mapResult{object: o, mapping: m, err: err}:
		case <-t.logs.ctx.Done():
		}
	})
}

// mappedKind opens and starts the source of a kind mapped in the background.
func (t *tracker) mappedKind(r mapResult) {
	o := r.object
	o.mapping, o.mapErr = false, r.err
	if r.err != nil {
		return
	}
	ns := o.Ref.Namespace
	if r.mapping.Scope.Name() == meta.RESTScopeNameRoot {
		ns = ""
	}
	o.src = t.sources.dynamic(r.mapping.Resource, ns)
	o.storeKey = storeKey(ns, o.Ref.Name)
	t.startLate(o.src)
}

// startLate starts a source opened after the others (a kind mapped late).
func (t *tracker) startLate(s *source) {
	_ = t.sources.startOne(t.logs.ctx, s)
}

// optionalSettled reports whether the pods, ReplicaSets and events an object is explained
// from synced, or will not (denied, failing): judging before they synced would miss a
// failure that is already there.
func (t *tracker) optionalSettled(o *trackedObject) bool {
	ns := o.Ref.Namespace
	for _, s := range []*source{t.sources.byKey[sourceKey{ResourcePods, ns}], t.sources.byKey[sourceKey{ResourceReplicaSets, ns}], t.sources.byKey[sourceKey{ResourceEvents, ns}]} {
		if h, _ := t.index.health(s); h == healthStarting {
			return false
		}
	}
	return true
}

func (t *tracker) evalObject(o *trackedObject, now time.Time) Status {
	if t.opts.Deletion {
		return t.evalDeletion(o)
	}
	if st, ok := t.waitForSource(o); !ok {
		return st
	}
	if !t.optionalSettled(o) {
		return readiness.Progressing("waiting")
	}
	obj, exists, err := o.src.informer.GetStore().GetByKey(o.storeKey)
	if err != nil || !exists {
		return readiness.Progressing("waiting for the object to appear")
	}
	if m, err := meta.Accessor(obj); err == nil {
		o.uid = string(m.GetUID())
	}
	namespace := o.Ref.Namespace
	view := readiness.Pods{Limits: t.opts.Limits, Policy: o.Policy, Now: now, EventsOf: func(uid string) []*corev1.Event { return t.index.eventsOf(namespace, uid) }}
	// Logs are followed once the controller has seen the current generation: before, the
	// "new" ReplicaSet or update revision is the old one, and each stream of a pod about to
	// go costs the API server a proxied connection to its node while the rollout needs it.
	switch obj := obj.(type) {
	case *appsv1.Deployment:
		newRS := t.index.newReplicaSet(obj)
		if newRS != nil {
			view.Pods = t.index.podsOf(obj.Namespace, string(newRS.UID))
		}
		o.pods = view.Pods
		if obj.Status.ObservedGeneration >= obj.Generation {
			t.logs.follow(o, view.Pods)
		}
		return readiness.Deployment(obj, newRS, view.WithAllowedRestarts(readiness.Replicas(obj.Spec.Replicas)))
	case *appsv1.StatefulSet:
		for _, p := range t.index.podsOf(obj.Namespace, string(obj.UID)) {
			if obj.Status.UpdateRevision == "" || p.Labels[appsv1.ControllerRevisionHashLabelKey] == obj.Status.UpdateRevision {
				view.Pods = append(view.Pods, p)
			}
		}
		o.pods = view.Pods
		if obj.Status.ObservedGeneration >= obj.Generation {
			t.logs.follow(o, view.Pods)
		}
		return readiness.StatefulSet(obj, view.WithAllowedRestarts(readiness.Replicas(obj.Spec.Replicas)))
	case *appsv1.DaemonSet:
		view.Pods = t.index.podsOf(obj.Namespace, string(obj.UID))
		o.pods = view.Pods
		t.logs.follow(o, view.Pods)
		// A DaemonSet has no replicas to multiply by (nelm does not either).
		return readiness.DaemonSet(obj, view.WithAllowedRestarts(1))
	case *appsv1.ReplicaSet:
		view.Pods = t.index.podsOf(obj.Namespace, string(obj.UID))
		o.pods = view.Pods
		return readiness.ReplicaSet(obj, view.WithAnnotatedAllowance(readiness.Replicas(obj.Spec.Replicas), obj.Spec.Template.Spec.RestartPolicy))
	case *batchv1.Job:
		view.Pods = t.index.podsOf(obj.Namespace, string(obj.UID))
		o.pods = view.Pods
		t.logs.follow(o, view.Pods)
		return readiness.Job(obj, view)
	case *corev1.Pod:
		view.Pods = []*corev1.Pod{obj}
		o.pods = view.Pods
		t.logs.follow(o, view.Pods)
		return readiness.Pod(obj, view.WithAnnotatedAllowance(1, obj.Spec.RestartPolicy))
	case *corev1.Service:
		return readiness.Service(obj)
	case *corev1.PersistentVolumeClaim:
		wfc, known := t.storage.waitsForFirstConsumer(obj)
		if !known {
			return readiness.Progressing("reading storage class %s", *obj.Spec.StorageClassName)
		}
		return readiness.PVC(obj, wfc)
	case *unstructured.Unstructured:
		if presence := presenceKinds[obj.GroupVersionKind().GroupKind().String()]; presence != "" {
			return Status{State: StateReady, Detail: presence}
		}
		o.generic = true
		return readiness.Custom(obj)
	default:
		return Status{State: StateReady, Detail: "present"}
	}
}

// DefaultGenericNoActivityTimeout fails a custom resource whose status has not moved for
// that long, unless werf.io/no-activity-timeout says otherwise: kubedog's generic tracker
// default, which werf and nelm use (built-in kinds have no such default).
const DefaultGenericNoActivityTimeout = 4 * time.Minute

// noActivityTimeout is how long the object may stay without progress; zero: no limit.
func (o *trackedObject) noActivityTimeout() time.Duration {
	if o.Policy.NoActivityTimeout == 0 && o.generic {
		return DefaultGenericNoActivityTimeout
	}
	return o.Policy.NoActivityTimeout
}

// evalDeletion judges an object being deleted: done once the API server no longer has it.
func (t *tracker) evalDeletion(o *trackedObject) Status {
	if o.src == nil {
		t.mapLater(o)
		if o.mapErr != nil {
			return Status{State: StateDeleted, Detail: "kind no longer served"}
		}
		return readiness.Progressing("waiting")
	}
	h, err := t.index.health(o.src)
	switch h {
	case healthDenied:
		return Status{State: StateDeleted, Detail: fmt.Sprintf("deletion requested; cannot watch %s to see it go: %v", o.src.key, err)}
	case healthFailing:
		return readiness.Progressing("cannot list %s: %v (retrying)", o.src.key, err)
	case healthStarting:
		return readiness.Progressing("waiting")
	}
	obj, exists, err := o.src.informer.GetStore().GetByKey(o.storeKey)
	if err != nil || !exists {
		return Status{State: StateDeleted}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return readiness.Progressing("deleting")
	}
	if m.GetDeletionTimestamp() == nil {
		return readiness.Progressing("deletion requested")
	}
	return readiness.Progressing("%s", deletionHolds(m.GetFinalizers()))
}

// deletionHolds says what keeps an object that is being deleted: its dependents (the
// foregroundDeletion finalizer of a foreground deletion), other finalizers (whoever set them
// must remove them).
func deletionHolds(finalizers []string) string {
	var dependents bool
	var others []string
	for _, f := range finalizers {
		if f == metav1.FinalizerDeleteDependents {
			dependents = true
		} else {
			others = append(others, f)
		}
	}
	switch {
	case len(others) > 0 && dependents:
		return fmt.Sprintf("deleting, waiting for finalizers %s and for its dependents (foreground deletion)", strings.Join(others, ", "))
	case len(others) > 0:
		return fmt.Sprintf("deleting, waiting for finalizers %s", strings.Join(others, ", "))
	case dependents:
		return "deleting, waiting for its dependents to go first (foreground deletion)"
	}
	return "deleting"
}

// presenceKinds are ready once they exist: waiting on them would block on things outside the
// release (an Ingress controller's address, a CronJob's next schedule).
var presenceKinds = map[string]string{
	"Ingress.networking.k8s.io":           "present (its load balancer address is not waited for)",
	"CronJob.batch":                       "present (its Jobs are not waited for)",
	"HorizontalPodAutoscaler.autoscaling": "present",
	"PodDisruptionBudget.policy":          "present",
}

// noReadinessKinds have no status to wait for (RBAC, configuration, admission webhooks'
// registrations, classes): they are ready once the API server has them.
var noReadinessKinds = map[string]bool{
	"ServiceAccount":                        true,
	"ConfigMap":                             true,
	"Secret":                                true,
	"Endpoints":                             true,
	"LimitRange":                            true,
	"Role.rbac.authorization.k8s.io":        true,
	"ClusterRole.rbac.authorization.k8s.io": true,
	"RoleBinding.rbac.authorization.k8s.io": true,
	"ClusterRoleBinding.rbac.authorization.k8s.io":                true,
	"ValidatingWebhookConfiguration.admissionregistration.k8s.io": true,
	"MutatingWebhookConfiguration.admissionregistration.k8s.io":   true,
	"NetworkPolicy.networking.k8s.io":                             true,
	"IngressClass.networking.k8s.io":                              true,
	"PriorityClass.scheduling.k8s.io":                             true,
	"StorageClass.storage.k8s.io":                                 true,
	"RuntimeClass.node.k8s.io":                                    true,
	"EndpointSlice.discovery.k8s.io":                              true,
}

// readyOnceApplied says whether a target the deploy has just written (Target.Applied set)
// is ready without being watched, and with which detail: its kind has no readiness of its
// own, so the write that succeeded is all there is to wait for. Objects tracked without a
// deploy's write (the track command) and deletions are always watched.
func readyOnceApplied(t Target, deletion bool) (string, bool) {
	if deletion || t.Applied.IsZero() {
		return "", false
	}
	kind := t.Ref.GroupKind().String()
	if detail := presenceKinds[kind]; detail != "" {
		return detail, true
	}
	return "present", noReadinessKinds[kind]
}

// notReadyContainer finds the first pod that is not ready and its first container that is
// not ready.
func notReadyContainer(pods []*corev1.Pod) (*corev1.Pod, string) {
	for _, p := range pods {
		if readiness.PodReady(p) || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready {
				return p, cs.Name
			}
		}
		return p, ""
	}
	return nil, ""
}
