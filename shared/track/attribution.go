package track

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ownerIndex attributes pods, ReplicaSets and events to tracked objects by owner references
// and UIDs (Deployment -> ReplicaSet -> Pod, Job/StatefulSet/DaemonSet -> Pod), never by
// name: Deployment "app" must not claim the pods of Deployment "app-worker". It is built
// lazily from the caches once per evaluation pass, not once per tracked object.
type ownerIndex struct {
	sources *sources
	pods    map[string]map[string][]*corev1.Pod        // namespace -> controller UID -> pods
	sets    map[string]map[string][]*appsv1.ReplicaSet // namespace -> controller UID -> ReplicaSets
	events  map[string]map[string][]*corev1.Event      // namespace -> involved object UID -> events, oldest first
}

func newOwnerIndex(s *sources) *ownerIndex {
	return &ownerIndex{sources: s, pods: map[string]map[string][]*corev1.Pod{}, sets: map[string]map[string][]*appsv1.ReplicaSet{}, events: map[string]map[string][]*corev1.Event{}}
}

func (x *ownerIndex) podsOf(namespace, ownerUID string) []*corev1.Pod {
	return controlledBy(x.pods, x.sources.byKey[sourceKey{ResourcePods, namespace}], namespace, ownerUID)
}

func (x *ownerIndex) replicaSetsOf(namespace, ownerUID string) []*appsv1.ReplicaSet {
	return controlledBy(x.sets, x.sources.byKey[sourceKey{ResourceReplicaSets, namespace}], namespace, ownerUID)
}

// controlledBy returns the objects of src in namespace whose controller has ownerUID,
// indexing src into index[namespace] on first use.
func controlledBy[T metav1.Object](index map[string]map[string][]T, src *source, namespace, ownerUID string) []T {
	byOwner, ok := index[namespace]
	if !ok {
		byOwner = map[string][]T{}
		for _, obj := range src.list() {
			o := obj.(T)
			if owner := metav1.GetControllerOfNoCopy(o); owner != nil {
				byOwner[string(owner.UID)] = append(byOwner[string(owner.UID)], o)
			}
		}
		index[namespace] = byOwner
	}
	return byOwner[ownerUID]
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

func (x *ownerIndex) eventsByUID(namespace string) map[string][]*corev1.Event {
	if out, ok := x.events[namespace]; ok {
		return out
	}
	out := map[string][]*corev1.Event{}
	for _, obj := range x.sources.byKey[sourceKey{ResourceEvents, namespace}].list() {
		e := obj.(*corev1.Event)
		if e.InvolvedObject.UID != "" {
			out[string(e.InvolvedObject.UID)] = append(out[string(e.InvolvedObject.UID)], e)
		}
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return eventTime(list[i]).Before(eventTime(list[j])) })
	}
	x.events[namespace] = out
	return out
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
	byUID := x.eventsByUID(o.Ref.Namespace)
	var out []*corev1.Event
	for _, uid := range x.family(o) {
		out = append(out, byUID[uid]...)
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

// emitKubeEvents shows new Warning events of the tracked objects and what they control (and
// Normal ones for objects asking for service messages), each once per count.
func (t *tracker) emitKubeEvents() {
	fresh := t.unseenEvents()
	if len(fresh) == 0 {
		return
	}
	for _, o := range t.objects {
		for _, e := range t.index.familyEvents(o) {
			if !fresh[string(e.UID)] {
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
			if count, seen := t.seenEvents[string(e.UID)]; seen && (count == e.Count || e.Count == 0) {
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

// maxEventsPerReason bounds the events shown per object and reason.
const maxEventsPerReason = 3

func podName(e *corev1.Event) string {
	if e.InvolvedObject.Kind == "Pod" {
		return e.InvolvedObject.Name
	}
	return ""
}
