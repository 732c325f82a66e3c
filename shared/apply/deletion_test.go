package apply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/track"
)

// terminating is a Deployment being deleted, held by finalizers.
func terminating(name string, finalizers ...string) *appsv1.Deployment {
	now := metav1.Now()
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "u1", DeletionTimestamp: &now, Finalizers: finalizers}}
}

// events keeps what AwaitGone reported.
type events struct {
	mu   sync.Mutex
	list []track.Event
	seen chan string
}

func (e *events) sink(ev track.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	if ev.Type == track.EventTypeStatus {
		line := string(ev.Status.State) + ": " + ev.Status.Detail
		select {
		case e.seen <- line:
		default:
		}
	}
}

func (e *events) statuses() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.Type == track.EventTypeStatus {
			out = append(out, ev.Object.String()+" "+string(ev.Status.State)+": "+ev.Status.Detail)
		}
	}
	return out
}

// TestAwaitGone: an object held by a finalizer or by its dependents is reported as still
// going, with why, until it is gone; the wait ends only then, or with its context, naming
// what is still there.
func TestAwaitGone(t *testing.T) {
	ref := track.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "app"}
	tests := []struct {
		name string
		// live is the object when the wait starts; nil: already gone.
		live *appsv1.Deployment
		// holds is the reported reason the test waits for before it acts: it releases the
		// object, or ends the wait with endCause.
		holds string
		// endCause ends the wait's context once holds was reported: a deadline
		// (context.DeadlineExceeded, as --timeout running out) or an interruption; nil
		// releases the object instead. The wait ends on what it reported, not on a clock:
		// a fixed timeout could run out before a loaded machine reported anything.
		endCause error
		wantErr  string
		wantEnd  exitcode.Code
	}{
		{name: "already gone", wantEnd: exitcode.CodeOK},
		{name: "held by a finalizer, then released", live: terminating("app", "converge.test/hold"),
			holds: "deleting, waiting for finalizers converge.test/hold", wantEnd: exitcode.CodeOK},
		{name: "held by its dependents, then released", live: terminating("app", metav1.FinalizerDeleteDependents),
			holds: "deleting, waiting for its dependents to go first (foreground deletion)", wantEnd: exitcode.CodeOK},
		{name: "timeout names what holds it", live: terminating("app", "converge.test/hold", metav1.FinalizerDeleteDependents),
			holds: "deleting, waiting for finalizers converge.test/hold and for its dependents (foreground deletion)", endCause: context.DeadlineExceeded,
			wantErr: "timed out waiting for the deletion of deploy/app (deleting, waiting for finalizers converge.test/hold and for its dependents (foreground deletion)): the time given by --timeout ran out",
			wantEnd: exitcode.CodeTimeout},
		{name: "interrupted", live: terminating("app", "converge.test/hold"),
			holds: "deleting, waiting for finalizers converge.test/hold", endCause: errors.New("interrupt"),
			wantErr: "interrupted while waiting for the deletion of deploy/app (deleting, waiting for finalizers converge.test/hold): interrupt",
			wantEnd: exitcode.CodeDeployFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objects []runtime.Object
			if tt.live != nil {
				objects = append(objects, tt.live)
			}
			kube := fake.NewClientset(objects...)
			// client-go's fake watch replays nothing: a delete made between the informer's
			// list and its watch is lost and the wait would never end. The object is released
			// only once the watch is registered with the tracker.
			watching := make(chan struct{})
			var watchOnce sync.Once
			kube.PrependWatchReactor("deployments", func(action k8stesting.Action) (bool, watch.Interface, error) {
				w, err := kube.Tracker().Watch(action.GetResource(), action.GetNamespace())
				watchOnce.Do(func() { close(watching) })
				return true, w, err
			})
			clients := track.Clients{Kube: kube, Dynamic: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Mapper: meta.NewDefaultRESTMapper(nil)}
			ctx, end := context.WithCancelCause(context.Background())
			defer end(nil)
			ev := &events{seen: make(chan string, 16)}
			released := make(chan struct{})
			if tt.holds != "" {
				go func() {
					defer close(released)
					for line := range ev.seen {
						if !strings.HasSuffix(line, tt.holds) {
							continue
						}
						if tt.endCause != nil {
							end(tt.endCause)
							return
						}
						<-watching
						// The finalizer is dropped: the API server removes the object.
						_ = kube.AppsV1().Deployments("ns").Delete(context.Background(), "app", metav1.DeleteOptions{})
						return
					}
				}()
			}
			res, err := AwaitGone(ctx, clients, []track.Ref{ref}, track.Options{}, ev.sink)
			if tt.holds != "" {
				<-released
			}
			if got := exitcode.Of(err); got != tt.wantEnd || (tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr)) {
				t.Fatalf("error %v (exit code %d), want %q (exit code %d); statuses %q", err, got, tt.wantErr, tt.wantEnd, ev.statuses())
			}
			if len(res) != 1 {
				t.Fatalf("results %+v, want one", res)
			}
			statuses := ev.statuses()
			if tt.wantErr == "" && (len(statuses) == 0 || statuses[len(statuses)-1] != "deploy/app deleted: ") {
				t.Fatalf("statuses %q: want deploy/app deleted last", statuses)
			}
			if tt.holds != "" && !strings.Contains(strings.Join(statuses, "\n"), "deploy/app progressing: "+tt.holds) {
				t.Fatalf("statuses %q: want the reason it is still there, %q, before it is gone", statuses, tt.holds)
			}
		})
	}
}
