package track

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-converge/converge/shared/redact"
)

const (
	// maxLogStreams bounds the concurrent log streams of a run.
	maxLogStreams = 16
	// maxLogLinesPerContainer and maxLogLineBytes keep a chatty pod from flooding a CI log.
	maxLogLinesPerContainer = 500
	maxLogLineBytes         = 2048
	// failureLogTimeout bounds the request for a failed container's last lines.
	failureLogTimeout = 5 * time.Second
)

// logFollower streams the logs of the pods being rolled out and keeps the last lines of each
// container, so that a timeout can show them without another request.
type logFollower struct {
	ctx    context.Context
	kube   kubernetes.Interface
	opts   Options
	access *Access
	notify func()
	say    func(string, bool)
	lines  chan Event

	mu      sync.Mutex
	started map[string]bool
	open    int
	tails   map[string][]string // "ref|pod|container" -> last lines
	last    map[Ref][2]string   // the pod and container that logged last, per object
}

func newLogFollower(ctx context.Context, kube kubernetes.Interface, opts Options, access *Access, notify func(), say func(string, bool)) *logFollower {
	return &logFollower{ctx: ctx, kube: kube, opts: opts, access: access, notify: notify, say: say, lines: make(chan Event, 256),
		started: map[string]bool{}, tails: map[string][]string{}, last: map[Ref][2]string{}}
}

// follow streams the logs of up to the policy's number of pods of a rollout.
func (l *logFollower) follow(o *trackedObject, pods []*corev1.Pod) {
	if !l.opts.PodLogs || o.Policy.SkipLogs || l.access.Denied(ResourcePodLogs, o.Ref.Namespace) {
		return
	}
	pods = append([]*corev1.Pod(nil), pods...)
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
			l.mu.Lock()
			if l.started[key] || l.open >= maxLogStreams {
				l.mu.Unlock()
				continue
			}
			l.started[key] = true
			l.open++
			l.mu.Unlock()
			redact.Go(func() { l.stream(o.Ref, o.Policy, p.Namespace, p.Name, c.Name, p.CreationTimestamp.Time) })
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

func (l *logFollower) stream(ref Ref, policy Policy, namespace, pod, container string, created time.Time) {
	defer func() {
		l.mu.Lock()
		l.open--
		l.mu.Unlock()
	}()
	opts := &corev1.PodLogOptions{Container: container, Follow: true}
	if created.Before(l.opts.Since.Add(-time.Second)) {
		// A pod older than the deploy has logs from before it; show only the new ones.
		since := metav1.NewTime(l.opts.Since)
		opts.SinceTime = &since
	}
	stream, err := l.kube.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(l.ctx)
	if apierrors.IsForbidden(err) {
		if line, first := l.access.Deny(ResourcePodLogs, namespace); first {
			l.say(line, true)
		}
		return
	}
	if err != nil {
		return
	}
	defer stream.Close()
	scanner := bufio.NewScanner(stream)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	shown := 0
	for scanner.Scan() {
		line := scanner.Text()
		if !policy.KeepLine(container, line) {
			continue
		}
		line = shownLogLine(line)
		l.remember(ref, pod, container, line)
		if shown++; shown > maxLogLinesPerContainer {
			if shown != maxLogLinesPerContainer+1 {
				continue
			}
			line = fmt.Sprintf("... further lines of this container are not shown (limit %d)", maxLogLinesPerContainer)
		}
		select {
		case l.lines <- Event{Type: EventTypeLog, Time: time.Now(), Elapsed: time.Since(l.opts.Since), Object: &ref, Pod: pod, Container: container, Line: line}:
		case <-l.ctx.Done():
			return
		}
	}
}

// shownLogLine is a pod's log line as events carry it: secrets masked first, then cut to
// maxLogLineBytes (on a character boundary), so that a cut never leaves part of a secret
// the redactor no longer recognizes.
func shownLogLine(line string) string {
	line = redact.String(line)
	if len(line) <= maxLogLineBytes {
		return line
	}
	cut := maxLogLineBytes
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	return line[:cut] + "..."
}

func tailKey(ref Ref, pod, container string) string {
	return ref.String() + "|" + ref.Namespace + "|" + pod + "|" + container
}

func (l *logFollower) remember(ref Ref, pod, container, line string) {
	keep := int(l.opts.FailureLogLines)
	if keep <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := tailKey(ref, pod, container)
	tail := append(l.tails[key], line)
	if len(tail) > keep {
		tail = tail[len(tail)-keep:]
	}
	l.tails[key] = tail
	l.last[ref] = [2]string{pod, container}
}

// tail returns the last lines streamed from the container; with no pod named, from the
// container of the object that logged last.
func (l *logFollower) tail(ref Ref, pod, container string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pod == "" || container == "" {
		last, ok := l.last[ref]
		if !ok {
			return nil
		}
		pod, container = last[0], last[1]
	}
	return append([]string(nil), l.tails[tailKey(ref, pod, container)]...)
}

func (l *logFollower) lastStream(ref Ref) (pod, container string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.last[ref]
	return last[0], last[1]
}

// neverStarted are failure reasons of containers that did not run, so have no logs.
var neverStarted = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true, "CreateContainerConfigError": true, "Unschedulable": true}

// fetchFailureLogs adds the last log lines of the failing container to f, in the background
// so that the evaluation loop never blocks on the API server: of its previous run after a
// crash, of the current one otherwise. The result is read after the loop (finish).
func (t *tracker) fetchFailureLogs(o *trackedObject, f *Failure) {
	if f == nil || f.Pod == "" || f.Container == "" || t.opts.FailureLogLines <= 0 || neverStarted[f.Reason] || t.opts.Access.Denied(ResourcePodLogs, o.Ref.Namespace) {
		return
	}
	if lines := t.logs.tail(o.Ref, f.Pod, f.Container); len(lines) > 0 && f.Reason != "CrashLoopBackOff" {
		f.Logs = lines
		return
	}
	pods := t.clients.Kube.CoreV1().Pods(o.Ref.Namespace)
	policy, namespace, tail := o.Policy, o.Ref.Namespace, t.opts.FailureLogLines
	var logs []string
	t.fetches.Add(1)
	redact.Go(func() {
		defer t.fetches.Done()
		for _, previous := range []bool{true, false} {
			if previous && f.Reason != "CrashLoopBackOff" && !strings.Contains(f.Message, "exit code") {
				continue
			}
			ctx, cancel := context.WithTimeout(t.logs.ctx, failureLogTimeout)
			raw, err := pods.GetLogs(f.Pod, &corev1.PodLogOptions{Container: f.Container, Previous: previous, TailLines: &tail}).DoRaw(ctx)
			cancel()
			if apierrors.IsForbidden(err) {
				if line, first := t.opts.Access.Deny(ResourcePodLogs, namespace); first {
					t.say(line, true)
				}
				return
			}
			if err != nil || len(strings.TrimSpace(string(raw))) == 0 {
				continue
			}
			for _, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
				if policy.KeepLine(f.Container, line) {
					logs = append(logs, shownLogLine(line))
				}
			}
			// Applied by the loop's goroutine (finish): the failure is shared with printed events.
			t.fetchedMu.Lock()
			t.fetched = append(t.fetched, func() { f.Logs = logs })
			t.fetchedMu.Unlock()
			return
		}
	})
}

// storageClasses reads, in the background, whether a storage class binds volumes only for
// their first consumer; the evaluation loop never waits on the API server.
type storageClasses struct {
	ctx    context.Context
	kube   kubernetes.Interface
	notify func()
	mu     sync.Mutex
	known  map[string]*bool
}

func newStorageClasses(ctx context.Context, kube kubernetes.Interface, notify func()) *storageClasses {
	return &storageClasses{ctx: ctx, kube: kube, notify: notify, known: map[string]*bool{}}
}

// waitsForFirstConsumer answers for the claim's class; known is false while it is read.
func (s *storageClasses) waitsForFirstConsumer(pvc *corev1.PersistentVolumeClaim) (wfc, known bool) {
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "" {
		return false, true
	}
	class := *pvc.Spec.StorageClassName
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.known[class]; ok {
		return v != nil && *v, v != nil
	}
	s.known[class] = nil
	redact.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, failureLogTimeout)
		defer cancel()
		sc, err := s.kube.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
		v := err == nil && sc.VolumeBindingMode != nil && string(*sc.VolumeBindingMode) == "WaitForFirstConsumer"
		s.mu.Lock()
		s.known[class] = &v
		s.mu.Unlock()
		s.notify()
	})
	return false, false
}
