package track

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
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
}

// DefaultOptions are the options used unless flags change them.
func DefaultOptions() Options {
	return Options{Limits: DefaultLimits(), PodLogs: true, FailureLogLines: 20, Heartbeat: 30 * time.Second}
}

const (
	// maxLogStreams bounds the concurrent log streams of a run.
	maxLogStreams = 16
	// maxEventsPerReason bounds the events shown per object and reason.
	maxEventsPerReason = 3
	// maxLogLinesPerContainer and maxLogLineBytes keep a chatty pod from flooding a CI log.
	maxLogLinesPerContainer = 500
	maxLogLineBytes         = 2048
)

type trackedObject struct {
	Target
	status   Status
	started  time.Time
	finished time.Duration
	uid      string
	lastMove time.Time
}

type tracker struct {
	clients Clients
	opts    Options
	sink    Sink
	start   time.Time
	// origin is the zero of the events' clock: the start of the deploy (Options.Since).
	origin  time.Time
	objects []*trackedObject

	namespaces map[string]*nsWatch
	kick       chan struct{}
	lines      chan Event

	logMu      sync.Mutex
	logStarted map[string]bool
	logCount   int
	logCtx     context.Context

	seenEvents  map[string]int32
	reasonCount map[string]int
	wfcClasses  map[string]bool
}

type nsWatch struct {
	factory  informers.SharedInformerFactory
	dynamic  dynamicinformer.DynamicSharedInformerFactory
	pods     cache.SharedIndexInformer
	rs       cache.SharedIndexInformer
	events   cache.SharedIndexInformer
	byKind   map[string]cache.SharedIndexInformer
	generics map[schema.GroupVersionResource]cache.SharedIndexInformer

	// Indexes of one evaluation pass, rebuilt from the caches by the next pass.
	podsByOwner    map[string][]*corev1.Pod
	eventsByObject map[string][]*corev1.Event
}

// Track follows the targets until every blocking one is ready, one fails (with the default
// fail mode), or ctx ends (a timeout: the result then holds the unfinished objects). Events
// go to sink, ending with a summary.
func Track(ctx context.Context, clients Clients, targets []Target, opts Options, sink Sink) (*Result, error) {
	t := &tracker{
		clients:     clients,
		opts:        opts,
		sink:        sink,
		start:       time.Now(),
		namespaces:  map[string]*nsWatch{},
		kick:        make(chan struct{}, 1),
		lines:       make(chan Event, 256),
		logStarted:  map[string]bool{},
		seenEvents:  map[string]int32{},
		reasonCount: map[string]int{},
		wfcClasses:  map[string]bool{},
	}
	if t.opts.Since.IsZero() {
		t.opts.Since = t.start
	}
	t.origin = t.opts.Since
	for _, target := range targets {
		t.objects = append(t.objects, &trackedObject{Target: target, status: Status{State: StateProgressing, Detail: "waiting"}, started: t.start, lastMove: t.start})
	}
	watchCtx, stopWatches := context.WithCancel(context.Background())
	defer stopWatches()
	t.logCtx = watchCtx
	if err := t.startWatches(watchCtx); err != nil {
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

func (t *tracker) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { t.notify() },
		UpdateFunc: func(any, any) { t.notify() },
		DeleteFunc: func(any) { t.notify() },
	}
}

// startWatches opens one informer per kind and namespace (never one per object), so the
// number of watch connections does not grow with the number of tracked objects or pods.
func (t *tracker) startWatches(ctx context.Context) error {
	for _, o := range t.objects {
		ns := t.nsFor(o.Ref.Namespace)
		switch o.Ref.Kind {
		case "Deployment":
			ns.informer("Deployment", ns.factory.Apps().V1().Deployments().Informer())
			ns.rs = ns.factory.Apps().V1().ReplicaSets().Informer()
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "StatefulSet":
			ns.informer("StatefulSet", ns.factory.Apps().V1().StatefulSets().Informer())
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "DaemonSet":
			ns.informer("DaemonSet", ns.factory.Apps().V1().DaemonSets().Informer())
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "ReplicaSet":
			ns.rs = ns.factory.Apps().V1().ReplicaSets().Informer()
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "Job":
			ns.informer("Job", ns.factory.Batch().V1().Jobs().Informer())
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "Pod":
			ns.pods = ns.factory.Core().V1().Pods().Informer()
		case "Service":
			ns.informer("Service", ns.factory.Core().V1().Services().Informer())
		case "PersistentVolumeClaim":
			ns.informer("PersistentVolumeClaim", ns.factory.Core().V1().PersistentVolumeClaims().Informer())
		default:
			gvk := schema.GroupVersionKind{Group: o.Ref.Group, Version: o.Ref.Version, Kind: o.Ref.Kind}
			mapping, err := t.clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return fmt.Errorf("track %s: %w", o.Ref, err)
			}
			if _, ok := ns.generics[mapping.Resource]; !ok {
				ns.generics[mapping.Resource] = ns.dynamic.ForResource(mapping.Resource).Informer()
			}
		}
		if o.Ref.Namespace != "" {
			ns.events = ns.factory.Core().V1().Events().Informer()
		}
	}
	var syncs []cache.InformerSynced
	for _, ns := range t.namespaces {
		for _, inf := range ns.all() {
			if _, err := inf.AddEventHandler(t.handler()); err != nil {
				return err
			}
			syncs = append(syncs, inf.HasSynced)
		}
		ns.factory.Start(ctx.Done())
		ns.dynamic.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		return errors.New("watch the tracked objects: caches did not sync")
	}
	return nil
}

func (t *tracker) nsFor(namespace string) *nsWatch {
	if ns, ok := t.namespaces[namespace]; ok {
		return ns
	}
	ns := &nsWatch{
		factory:  informers.NewSharedInformerFactoryWithOptions(t.clients.Kube, 0, informers.WithNamespace(namespace)),
		dynamic:  dynamicinformer.NewFilteredDynamicSharedInformerFactory(t.clients.Dynamic, 0, namespace, nil),
		byKind:   map[string]cache.SharedIndexInformer{},
		generics: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
	}
	t.namespaces[namespace] = ns
	return ns
}

func (n *nsWatch) informer(kind string, inf cache.SharedIndexInformer) { n.byKind[kind] = inf }

func (n *nsWatch) all() []cache.SharedIndexInformer {
	var out []cache.SharedIndexInformer
	seen := map[cache.SharedIndexInformer]bool{}
	add := func(inf cache.SharedIndexInformer) {
		if inf != nil && !seen[inf] {
			seen[inf] = true
			out = append(out, inf)
		}
	}
	for _, inf := range n.byKind {
		add(inf)
	}
	for _, inf := range n.generics {
		add(inf)
	}
	add(n.pods)
	add(n.rs)
	add(n.events)
	return out
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
	for {
		if t.evaluate() {
			t.drainLines()
			return t.result()
		}
		select {
		case <-ctx.Done():
			t.drainLines()
			return t.result()
		case <-t.kick:
		case <-tick.C:
		case line := <-t.lines:
			t.sink(line)
		case <-heartbeat:
			t.sink(Event{Type: EventTypeWaiting, Time: time.Now(), Elapsed: time.Since(t.origin), Waiting: t.waiting()})
		}
	}
}

// drainLines prints the log lines still queued, giving streams that are open a moment to
// deliver what the API server has already sent.
func (t *tracker) drainLines() {
	grace := time.After(300 * time.Millisecond)
	for {
		select {
		case line := <-t.lines:
			t.sink(line)
			continue
		default:
		}
		t.logMu.Lock()
		open := t.logCount
		t.logMu.Unlock()
		if open == 0 {
			return
		}
		select {
		case line := <-t.lines:
			t.sink(line)
		case <-grace:
			return
		}
	}
}

func (t *tracker) result() *Result {
	res := &Result{}
	for _, o := range t.objects {
		took, status := o.finished, o.status
		if !status.State.Done() {
			took = time.Since(o.started)
			if o.Policy.Termination == TerminationModeNonBlocking {
				status = Status{State: StateSkipped, Detail: "not waited for (NonBlocking): " + status.Detail}
			}
		}
		res.Objects = append(res.Objects, ObjectResult{Object: o.Ref, Status: status, Took: took})
	}
	return res
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
	for _, ns := range t.namespaces {
		ns.podsByOwner, ns.eventsByObject = nil, nil
	}
	t.emitKubeEvents()
	over := true
	for _, o := range t.objects {
		if !o.status.State.Done() {
			next := t.evalObject(o, now)
			if next.State == StateFailed {
				switch o.Policy.FailMode {
				case FailModeIgnoreAndContinueDeployProcess:
					next = Status{State: StateSkipped, Detail: "failure ignored (fail-mode IgnoreAndContinueDeployProcess): " + next.Failure.Error(), Failure: next.Failure}
				default:
					t.attachLogs(o, next.Failure)
				}
			}
			if o.Policy.NoActivityTimeout > 0 && next.State == StateProgressing && next.Detail == o.status.Detail && now.Sub(o.lastMove) > o.Policy.NoActivityTimeout {
				next = failed(&Failure{Reason: "NoActivity", Message: fmt.Sprintf("no progress for %s: %s", o.Policy.NoActivityTimeout, next.Detail)})
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
		if o.status.State == StateFailed && o.Policy.FailMode == FailModeFailWholeDeployProcessImmediately {
			return true
		}
		if !o.status.State.Done() && o.Policy.Termination != TerminationModeNonBlocking {
			over = false
		}
	}
	return over
}

func failureText(s Status) string {
	if s.Failure == nil {
		return ""
	}
	return s.Failure.Error()
}

func (t *tracker) evalObject(o *trackedObject, now time.Time) Status {
	if t.opts.Deletion {
		return t.evalDeletion(o)
	}
	obj, found, err := t.lookup(o.Ref)
	if err != nil {
		return progressing("kind not known to the API server: %v", err)
	}
	if !found {
		return progressing("waiting for the object to appear")
	}
	ns := t.namespaces[o.Ref.Namespace]
	view := podView{limits: t.opts.Limits, policy: o.Policy, now: now, events: t.eventsByUID(ns)}
	switch obj := obj.(type) {
	case *appsv1.Deployment:
		newRS := t.newReplicaSet(ns, obj)
		if newRS != nil {
			view.pods = t.podsOwnedBy(ns, string(newRS.UID))
		}
		t.followLogs(o, view.pods)
		return evalDeployment(obj, newRS, view)
	case *appsv1.StatefulSet:
		for _, p := range t.podsOwnedBy(ns, string(obj.UID)) {
			if obj.Status.UpdateRevision == "" || p.Labels[appsv1.ControllerRevisionHashLabelKey] == obj.Status.UpdateRevision {
				view.pods = append(view.pods, p)
			}
		}
		t.followLogs(o, view.pods)
		return evalStatefulSet(obj, view)
	case *appsv1.DaemonSet:
		view.pods = t.podsOwnedBy(ns, string(obj.UID))
		t.followLogs(o, view.pods)
		return evalDaemonSet(obj, view)
	case *appsv1.ReplicaSet:
		view.pods = t.podsOwnedBy(ns, string(obj.UID))
		return evalReplicaSet(obj, view)
	case *batchv1.Job:
		view.pods = t.podsOwnedBy(ns, string(obj.UID))
		t.followLogs(o, view.pods)
		return evalJob(obj, view)
	case *corev1.Pod:
		view.pods = []*corev1.Pod{obj}
		t.followLogs(o, view.pods)
		return evalPod(obj, view)
	case *corev1.Service:
		return evalService(obj)
	case *corev1.PersistentVolumeClaim:
		return evalPVC(obj, t.waitsForFirstConsumer(obj))
	case *unstructured.Unstructured:
		if presence := presenceKinds[obj.GroupVersionKind().GroupKind().String()]; presence != "" {
			return Status{State: StateReady, Detail: presence}
		}
		return evalCustom(obj)
	default:
		return Status{State: StateReady, Detail: "present"}
	}
}

// lookup returns the cached object ref names, from the informer startWatches opened for it.
func (t *tracker) lookup(ref Ref) (obj any, found bool, err error) {
	ns := t.namespaces[ref.Namespace]
	key := ref.Namespace + "/" + ref.Name
	if ref.Namespace == "" {
		key = ref.Name
	}
	var inf cache.SharedIndexInformer
	switch ref.Kind {
	case "Pod":
		inf = ns.pods
	case "ReplicaSet":
		inf = ns.rs
	default:
		inf = ns.byKind[ref.Kind]
	}
	if inf == nil {
		gvk := schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind}
		mapping, err := t.clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, false, err
		}
		if mapping.Scope.Name() == meta.RESTScopeNameRoot {
			key = ref.Name
		}
		if inf = ns.generics[mapping.Resource]; inf == nil {
			return nil, false, nil
		}
	}
	obj, exists, err := inf.GetStore().GetByKey(key)
	return obj, err == nil && exists, nil
}

// evalDeletion judges an object being deleted: done once the API server no longer has it.
func (t *tracker) evalDeletion(o *trackedObject) Status {
	obj, found, err := t.lookup(o.Ref)
	if err != nil {
		return Status{State: StateDeleted, Detail: "kind no longer served"}
	}
	if !found {
		return Status{State: StateDeleted}
	}
	if m, err := meta.Accessor(obj); err == nil && len(m.GetFinalizers()) > 0 {
		return progressing("deleting, waiting for finalizers %s", strings.Join(m.GetFinalizers(), ", "))
	}
	return progressing("deleting")
}

func (t *tracker) newReplicaSet(ns *nsWatch, d *appsv1.Deployment) *appsv1.ReplicaSet {
	if ns.rs == nil {
		return nil
	}
	revision := d.Annotations["deployment.kubernetes.io/revision"]
	var newest *appsv1.ReplicaSet
	for _, obj := range ns.rs.GetStore().List() {
		rs := obj.(*appsv1.ReplicaSet)
		owner := metav1.GetControllerOf(rs)
		if owner == nil || owner.UID != d.UID {
			continue
		}
		if revision != "" && rs.Annotations["deployment.kubernetes.io/revision"] == revision {
			return rs
		}
		if newest == nil || rs.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = rs
		}
	}
	if revision != "" {
		return nil // the controller has not created the new ReplicaSet yet
	}
	return newest
}

// podsOwnedBy returns the pods controlled by the object with uid, from an index built once
// per evaluation pass (not once per tracked object).
func (t *tracker) podsOwnedBy(ns *nsWatch, uid string) []*corev1.Pod {
	if ns.pods == nil {
		return nil
	}
	if ns.podsByOwner == nil {
		ns.podsByOwner = map[string][]*corev1.Pod{}
		for _, obj := range ns.pods.GetStore().List() {
			p := obj.(*corev1.Pod)
			if owner := metav1.GetControllerOf(p); owner != nil {
				ns.podsByOwner[string(owner.UID)] = append(ns.podsByOwner[string(owner.UID)], p)
			}
		}
	}
	return ns.podsByOwner[uid]
}

func (t *tracker) eventsByUID(ns *nsWatch) map[string][]*corev1.Event {
	if ns != nil && ns.eventsByObject != nil {
		return ns.eventsByObject
	}
	out := map[string][]*corev1.Event{}
	if ns == nil || ns.events == nil {
		return out
	}
	defer func() { ns.eventsByObject = out }()
	for _, obj := range ns.events.GetStore().List() {
		e := obj.(*corev1.Event)
		out[string(e.InvolvedObject.UID)] = append(out[string(e.InvolvedObject.UID)], e)
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return eventTime(list[i]).Before(eventTime(list[j])) })
	}
	return out
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// emitKubeEvents shows new Warning events of the tracked objects and their pods (and Normal
// ones for objects asking for service messages), each once per count.
func (t *tracker) emitKubeEvents() {
	for _, o := range t.objects {
		ns := t.namespaces[o.Ref.Namespace]
		if ns == nil || ns.events == nil {
			continue
		}
		for _, obj := range ns.events.GetStore().List() {
			e := obj.(*corev1.Event)
			if eventTime(e).Before(t.opts.Since.Add(-time.Second)) || !t.concerns(o, e) {
				continue
			}
			warning := e.Type == corev1.EventTypeWarning
			if !warning && !o.Policy.ShowServiceMessages {
				continue
			}
			if t.seenEvents[string(e.UID)] == e.Count && e.Count != 0 {
				continue
			}
			if _, seen := t.seenEvents[string(e.UID)]; seen && e.Count == 0 {
				continue
			}
			t.seenEvents[string(e.UID)] = e.Count
			// A controller retrying (FailedCreate for every pod it tries) repeats itself;
			// a few lines tell the story, the failure summary tells the rest.
			reasonKey := o.Ref.String() + "/" + e.Reason
			t.reasonCount[reasonKey]++
			if t.reasonCount[reasonKey] > maxEventsPerReason {
				continue
			}
			ref := o.Ref
			line := e.Reason + ": " + e.Message
			t.sink(Event{Type: EventTypeKubeEvent, Time: eventTime(e), Elapsed: time.Since(t.origin), Object: &ref, Pod: podName(e), Line: line, Warning: warning})
		}
	}
}

func podName(e *corev1.Event) string {
	if e.InvolvedObject.Kind == "Pod" {
		return e.InvolvedObject.Name
	}
	return ""
}

// concerns reports whether the event is about the object or one of its pods or ReplicaSets.
func (t *tracker) concerns(o *trackedObject, e *corev1.Event) bool {
	io := e.InvolvedObject
	if io.Kind == o.Ref.Kind && io.Name == o.Ref.Name {
		return true
	}
	if io.Kind != "Pod" && io.Kind != "ReplicaSet" {
		return false
	}
	prefix := o.Ref.Name + "-"
	return (o.Ref.Kind == "Deployment" || o.Ref.Kind == "StatefulSet" || o.Ref.Kind == "DaemonSet" || o.Ref.Kind == "Job" || o.Ref.Kind == "ReplicaSet") && strings.HasPrefix(io.Name, prefix)
}

func (t *tracker) waitsForFirstConsumer(pvc *corev1.PersistentVolumeClaim) bool {
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class == "" {
		return false
	}
	if v, ok := t.wfcClasses[class]; ok {
		return v
	}
	sc, err := t.clients.Kube.StorageV1().StorageClasses().Get(context.Background(), class, metav1.GetOptions{})
	wfc := err == nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	t.wfcClasses[class] = wfc
	return wfc
}

// followLogs streams the logs of up to the policy's number of pods of a rollout.
func (t *tracker) followLogs(o *trackedObject, pods []*corev1.Pod) {
	if !t.opts.PodLogs || o.Policy.SkipLogs {
		return
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	shown := 0
	for _, p := range pods {
		if o.Ref.Kind != "Job" && shown >= o.Policy.LogReplicas {
			return
		}
		shown++
		for _, c := range p.Spec.Containers {
			if !o.Policy.ShowLogsOf(c.Name) || !containerStarted(p, c.Name) {
				continue
			}
			key := string(p.UID) + "/" + c.Name
			t.logMu.Lock()
			if t.logStarted[key] || t.logCount >= maxLogStreams {
				t.logMu.Unlock()
				continue
			}
			t.logStarted[key] = true
			t.logCount++
			t.logMu.Unlock()
			go t.streamLogs(o, p.Namespace, p.Name, c.Name, p.CreationTimestamp.Time)
		}
	}
}

func containerStarted(p *corev1.Pod, container string) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil
		}
	}
	return false
}

func (t *tracker) streamLogs(o *trackedObject, namespace, pod, container string, created time.Time) {
	defer func() {
		t.logMu.Lock()
		t.logCount--
		t.logMu.Unlock()
	}()
	opts := &corev1.PodLogOptions{Container: container, Follow: true}
	if created.Before(t.opts.Since.Add(-time.Second)) {
		// A pod older than the deploy has logs from before it; show only the new ones.
		since := metav1.NewTime(t.opts.Since)
		opts.SinceTime = &since
	}
	req := t.clients.Kube.CoreV1().Pods(namespace).GetLogs(pod, opts)
	stream, err := req.Stream(t.logCtx)
	if err != nil {
		return
	}
	defer stream.Close()
	ref := o.Ref
	scanner := bufio.NewScanner(stream)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	shown := 0
	for scanner.Scan() {
		line := scanner.Text()
		if !o.Policy.KeepLine(container, line) {
			continue
		}
		if shown++; shown > maxLogLinesPerContainer {
			if shown == maxLogLinesPerContainer+1 {
				line = fmt.Sprintf("... further lines of this container are not shown (limit %d)", maxLogLinesPerContainer)
			} else {
				continue
			}
		}
		if len(line) > maxLogLineBytes {
			line = line[:maxLogLineBytes] + "..."
		}
		select {
		case t.lines <- Event{Type: EventTypeLog, Time: time.Now(), Elapsed: time.Since(t.origin), Object: &ref, Pod: pod, Container: container, Line: line}:
		case <-t.logCtx.Done():
			return
		}
	}
}

// presenceKinds are ready once they exist: waiting on them would block on things outside the
// release (an Ingress controller's address, a CronJob's next schedule).
var presenceKinds = map[string]string{
	"Ingress.networking.k8s.io":           "present (its load balancer address is not waited for)",
	"CronJob.batch":                       "present (its Jobs are not waited for)",
	"HorizontalPodAutoscaler.autoscaling": "present",
	"PodDisruptionBudget.policy":          "present",
}

// neverStarted are failure reasons of containers that did not run, so have no logs.
var neverStarted = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true, "CreateContainerConfigError": true, "Unschedulable": true}

// attachLogs adds the last log lines of the failing container: of its previous run after a
// crash, of the current one otherwise.
func (t *tracker) attachLogs(o *trackedObject, f *Failure) {
	if f == nil || f.Pod == "" || f.Container == "" || t.opts.FailureLogLines <= 0 || neverStarted[f.Reason] {
		return
	}
	pods := t.clients.Kube.CoreV1().Pods(o.Ref.Namespace)
	for _, previous := range []bool{true, false} {
		if previous && f.Reason != "CrashLoopBackOff" && !strings.Contains(f.Message, "exit code") {
			continue
		}
		tail := t.opts.FailureLogLines
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		raw, err := pods.GetLogs(f.Pod, &corev1.PodLogOptions{Container: f.Container, Previous: previous, TailLines: &tail}).DoRaw(ctx)
		cancel()
		if err != nil || len(strings.TrimSpace(string(raw))) == 0 {
			if apierrors.IsForbidden(err) {
				return
			}
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			if o.Policy.KeepLine(f.Container, line) {
				f.Logs = append(f.Logs, line)
			}
		}
		return
	}
}

// RefsFromManifest lists the objects of a rendered manifest as tracking targets, with the
// policy of their annotations; namespace fills in objects without one.
func RefsFromManifest(objects []*unstructured.Unstructured, namespace string, namespaced func(schema.GroupVersionKind) bool) ([]Target, error) {
	var out []Target
	for _, u := range objects {
		gvk := u.GroupVersionKind()
		policy, err := ParsePolicy(u.GetAnnotations())
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", gvk.Kind, u.GetName(), err)
		}
		ns := u.GetNamespace()
		if ns == "" && namespaced(gvk) {
			ns = namespace
		}
		out = append(out, Target{Ref: Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: ns, Name: u.GetName()}, Policy: policy})
	}
	return out, nil
}
