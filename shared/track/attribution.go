package track

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// ownerIndex attributes pods, ReplicaSets and events to tracked objects by owner references
// and UIDs (Deployment -> ReplicaSet -> Pod, Job/StatefulSet/DaemonSet -> Pod), never by
// name: Deployment "app" must not claim the pods of Deployment "app-worker". The informers
// keep the indexes by controller and involved object; what one evaluation pass looked up is
// kept for the rest of the pass.
type ownerIndex struct {
	sources *sources
	pods    map[string][]*corev1.Pod        // namespace/controller UID -> pods
	sets    map[string][]*appsv1.ReplicaSet // namespace/controller UID -> ReplicaSets
	events  map[string][]*corev1.Event      // namespace/involved object UID -> events, oldest first
	healths map[*source]sourceHealth
}

type sourceHealth struct {
	health health
	err    error
}

func newOwnerIndex(s *sources) *ownerIndex {
	return &ownerIndex{sources: s, pods: map[string][]*corev1.Pod{}, sets: map[string][]*appsv1.ReplicaSet{}, events: map[string][]*corev1.Event{}, healths: map[*source]sourceHealth{}}
}

func (x *ownerIndex) podsOf(namespace, ownerUID string) []*corev1.Pod {
	return lookedUp(x.pods, x.sources.byKey[sourceKey{ResourcePods, namespace}], byController, controllerUID, namespace, ownerUID)
}

func (x *ownerIndex) replicaSetsOf(namespace, ownerUID string) []*appsv1.ReplicaSet {
	return lookedUp(x.sets, x.sources.byKey[sourceKey{ResourceReplicaSets, namespace}], byController, controllerUID, namespace, ownerUID)
}

// eventsOf are the events about the object of uid in namespace, oldest first.
func (x *ownerIndex) eventsOf(namespace, uid string) []*corev1.Event {
	key := namespace + "/" + uid
	if out, ok := x.events[key]; ok {
		return out
	}
	out := indexed[*corev1.Event](x.sources.byKey[sourceKey{ResourceEvents, namespace}], byInvolvedObject, involvedUID, uid)
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	x.events[key] = out
	return out
}

// health is the source's health as of the first question in the pass: a cache that synced
// halfway through a pass would have the objects judged after it see what those judged before
// it did not (one failed object ending the run before another was seen ready), and an object
// judged failed after the pass showed the events without the warning that explains it.
func (x *ownerIndex) health(s *source) (health, error) {
	if h, ok := x.healths[s]; ok {
		return h.health, h.err
	}
	h, err := s.health()
	x.healths[s] = sourceHealth{h, err}
	return h, err
}

// lookedUp returns the objects of src in namespace that fn gives value, looking them up in
// the informer's index on first use in the pass.
func lookedUp[T any](memo map[string][]T, src *source, name string, fn cache.IndexFunc, namespace, value string) []T {
	key := namespace + "/" + value
	if out, ok := memo[key]; ok {
		return out
	}
	out := indexed[T](src, name, fn, value)
	memo[key] = out
	return out
}

// indexed returns, in a slice of its own, the objects of src that fn gives value.
func indexed[T any](src *source, name string, fn cache.IndexFunc, value string) []T {
	var out []T
	for _, obj := range src.byIndex(name, fn, value) {
		out = append(out, obj.(T))
	}
	return out
}

// newReplicaSet is the ReplicaSet of the Deployment's current revision; nil while the
// controller has not created it (or ReplicaSets cannot be read).
func (x *ownerIndex) newReplicaSet(d *appsv1.Deployment) *appsv1.ReplicaSet {
	revision := d.Annotations["deployment.kubernetes.io/revision"]
	var newest *appsv1.ReplicaSet
	for _, rs := range x.replicaSetsOf(d.Namespace, string(d.UID)) {
		if revision != "" && rs.Annotations["deployment.kubernetes.io/revision"] == revision {
			return rs
		}
		if newest == nil || rs.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = rs
		}
	}
	if revision != "" {
		return nil
	}
	return newest
}

// family is the object's UID and the UIDs of what it controls: its ReplicaSets, and the pods
// of those or its own.
func (x *ownerIndex) family(o *trackedObject) []string {
	if o.uid == "" {
		return nil
	}
	ns := o.Ref.Namespace
	out := []string{o.uid}
	for _, p := range x.podsOf(ns, o.uid) {
		out = append(out, string(p.UID))
	}
	for _, rs := range x.replicaSetsOf(ns, o.uid) {
		out = append(out, string(rs.UID))
		for _, p := range x.podsOf(ns, string(rs.UID)) {
			out = append(out, string(p.UID))
		}
	}
	return out
}

// familyEvents are the events of the object and what it controls, oldest first.
func (x *ownerIndex) familyEvents(o *trackedObject) []*corev1.Event {
	var out []*corev1.Event
	for _, uid := range x.family(o) {
		out = append(out, x.eventsOf(o.Ref.Namespace, uid)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	return out
}

// warnings are the object's family's Warning events as lines, oldest first.
func (x *ownerIndex) warnings(o *trackedObject) []string {
	var out []string
	for _, e := range x.familyEvents(o) {
		if e.Type == corev1.EventTypeWarning {
			out = append(out, eventLine(e))
		}
	}
	return out
}

func eventLine(e *corev1.Event) string {
	line := e.Reason + ": " + e.Message
	if e.InvolvedObject.Kind == "Pod" {
		line = "pod " + e.InvolvedObject.Name + ": " + line
	}
	return line
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

// emitKubeEvents shows new Warning events of objects and what they control (and Normal ones
// for objects asking for service messages), each once per count.
func (t *tracker) emitKubeEvents(objects []*trackedObject) {
	fresh := t.unseenEvents()
	if len(fresh) == 0 {
		return
	}
	for _, o := range objects {
		for _, e := range t.index.familyEvents(o) {
			if !fresh[string(e.UID)] {
				continue
			}
			warning := e.Type == corev1.EventTypeWarning
			if !warning && !o.Policy.ShowServiceMessages {
				continue
			}
			if t.shownAsIs(e) {
				// An event two objects' families share is shown once.
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
			t.sink(Event{Type: EventTypeKubeEvent, Time: eventTime(e), Elapsed: time.Since(t.origin), Object: &ref, Pod: podName(e), Line: e.Reason + ": " + e.Message, Warning: warning})
		}
	}
}

// unseenEvents are the UIDs of the events of this run that some object may show and that
// have not been shown as they are now. Attributing an event walks every object's pods and
// ReplicaSets: at a thousand objects, done on each evaluation, it took most of the process's
// CPU in a rollout, while almost every evaluation has nothing new to show.
func (t *tracker) unseenEvents() map[string]bool {
	showsNormal := false
	namespaces := map[string]bool{}
	for _, o := range t.objects {
		showsNormal = showsNormal || o.Policy.ShowServiceMessages
		namespaces[o.Ref.Namespace] = true
	}
	since := t.opts.Since.Add(-time.Second)
	var fresh map[string]bool
	for ns := range namespaces {
		for _, obj := range t.sources.byKey[sourceKey{ResourceEvents, ns}].list() {
			e := obj.(*corev1.Event)
			if e.Type != corev1.EventTypeWarning && !showsNormal || eventTime(e).Before(since) {
				continue
			}
			if t.shownAsIs(e) {
				continue
			}
			if fresh == nil {
				fresh = map[string]bool{}
			}
			fresh[string(e.UID)] = true
		}
	}
	return fresh
}

// shownAsIs reports whether the event was shown with its current count (an event with no
// count is shown once).
func (t *tracker) shownAsIs(e *corev1.Event) bool {
	count, seen := t.seenEvents[string(e.UID)]
	return seen && (count == e.Count || e.Count == 0)
}

// maxEventsPerReason bounds the events shown per object and reason.
const maxEventsPerReason = 3

func podName(e *corev1.Event) string {
	if e.InvolvedObject.Kind == "Pod" {
		return e.InvolvedObject.Name
	}
	return ""
}
