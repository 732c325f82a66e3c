package releaselock

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-converge/converge/shared/event"
	"github.com/kubectl-converge/converge/shared/exitcode"
)

func lease(holder string, renewed time.Time) *coordinationv1.Lease {
	seconds := int32(15)
	at := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName("app"), Namespace: "ns"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &at, RenewTime: &at},
	}
}

func TestAcquireLock(t *testing.T) {
	tests := []struct {
		name     string
		existing *coordinationv1.Lease
		wantErr  string
	}{
		{name: "free release"},
		{name: "expired lease of a killed run is taken over", existing: lease("converge by ci@runner (pid 1)", time.Now().Add(-time.Minute))},
		{name: "lease without holder is free", existing: lease("", time.Now())},
		{name: "live lease makes the run wait, then give up", existing: lease("converge by ci@runner (pid 1)", time.Now().Add(time.Hour)),
			wantErr: `release "app" is locked by converge by ci@runner (pid 1) since`},
		{name: "a holder whose clock is 20 s behind ours still holds its live lease", existing: lease("converge by ci@slow-clock (pid 1)", time.Now().Add(-20*time.Second)),
			wantErr: `release "app" is locked by converge by ci@slow-clock (pid 1) since`},
		{name: "an oversized duration is not trusted", existing: func() *coordinationv1.Lease {
			l := lease("converge by ci@runner (pid 1)", time.Now().Add(-10*time.Minute))
			forever := int32(1 << 30)
			l.Spec.LeaseDurationSeconds = &forever
			return l
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if tt.existing != nil {
				if _, err := kube.CoordinationV1().Leases("ns").Create(context.Background(), tt.existing, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var said []string
			sink := func(e event.Event) { said = append(said, e.Line) }
			lock, ctx, err := Acquire(context.Background(), kube, "ns", "app", Options{Wait: 1500 * time.Millisecond, Operation: "converge"}, sink)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.CodeTimeout {
					t.Fatalf("error %v (exit code %d), want %q with the timeout code", err, exitcode.Of(err), tt.wantErr)
				}
				if len(said) != 1 || !strings.Contains(said[0], `waiting for release "app": locked by converge by ci@`) {
					t.Fatalf("the wait was announced as %q", said)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := kube.CoordinationV1().Leases("ns").Get(ctx, LeaseName("app"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if h := *got.Spec.HolderIdentity; !strings.HasPrefix(h, "converge by ") || h == "converge by ci@runner (pid 1)" {
				t.Fatalf("lease holder %q, want this process", h)
			}
			lock.Release()
			if ctx.Err() == nil {
				t.Fatal("the operation context outlives the lock")
			}
			if _, err := kube.CoordinationV1().Leases("ns").Get(context.Background(), LeaseName("app"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("lease after Release: %v, want deleted", err)
			}
		})
	}
}

// TestAcquireLockAfterAmbiguousCreate: the API server stored the lease but its answer was
// lost (504), and the retried create says AlreadyExists. The lease names this run, so the
// run holds the lock instead of waiting for itself.
func TestAcquireLockAfterAmbiguousCreate(t *testing.T) {
	kube := fake.NewClientset()
	creates := 0
	kube.PrependReactor("create", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		creates++
		obj := action.(k8stesting.CreateAction).GetObject()
		if err := kube.Tracker().Create(coordinationv1.SchemeGroupVersion.WithResource("leases"), obj, "ns"); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewAlreadyExists(coordinationv1.Resource("leases"), LeaseName("app"))
	})
	var said []string
	lock, _, err := Acquire(context.Background(), kube, "ns", "app", Options{Wait: 3 * time.Second, Operation: "converge"}, func(e event.Event) { said = append(said, e.Line) })
	if err != nil {
		t.Fatalf("acquire after an ambiguous create: %v (said %q)", err, said)
	}
	defer lock.Release()
	if creates != 1 || len(said) != 0 {
		t.Fatalf("%d creates, said %q; want one create and no wait", creates, said)
	}
}

// TestHolderIdentityIsPerRun: two runs of one process (or two processes with one pid in
// different containers) never share an identity, so "held by this run" is never wrong.
func TestHolderIdentityIsPerRun(t *testing.T) {
	if a, b := holderIdentity("converge"), holderIdentity("converge"); a == b {
		t.Fatalf("two runs share the identity %q", a)
	}
}

// TestForbiddenLockSaysWhatToGrant: a deployer who may not use Leases learns which verbs on
// which resource the lock needs, not only that something was forbidden.
func TestForbiddenLockSaysWhatToGrant(t *testing.T) {
	for _, verb := range []string{"get", "create"} {
		t.Run(verb, func(t *testing.T) {
			kube := fake.NewClientset()
			kube.PrependReactor(verb, "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(coordinationv1.Resource("leases"), LeaseName("app"), nil)
			})
			_, _, err := Acquire(context.Background(), kube, "ns", "app", Options{Wait: time.Second, Operation: "converge"}, nil)
			if err == nil || !strings.Contains(err.Error(), `grant get, create, update and delete on leases.coordination.k8s.io in namespace "ns"`) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

// TestHolderGivesUpWhenRenewalsFail: the API server answers the first holder's renewals with
// errors that are neither conflicts nor an outage; the holder cancels its run (saying why)
// within the lease duration minus its margin, before the lease expires, so when a second run
// takes the lease over the first no longer believes it holds it.
func TestHolderGivesUpWhenRenewalsFail(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		lastError string
	}{
		{name: "500", err: apierrors.NewInternalError(errors.New("etcd is failing")), lastError: "Internal error occurred: etcd is failing"},
		{name: "403", err: apierrors.NewForbidden(coordinationv1.Resource("leases"), "app", errors.New("RBAC changed")), lastError: `leases.coordination.k8s.io "app" is forbidden: RBAC changed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			opts := Options{Duration: 3 * time.Second, Operation: "converge"}
			// The reactor is in place before the renewals start (client-go's fake does not
			// guard its reactor chain against a renewal reading it meanwhile).
			var firstHolder atomic.Pointer[string]
			kube.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
				if l := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease); firstHolder.Load() != nil && *l.Spec.HolderIdentity == *firstHolder.Load() {
					return true, nil, tt.err
				}
				return false, nil, nil
			})
			first, firstCtx, err := Acquire(context.Background(), kube, "ns", "app", opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			firstHolder.Store(&first.holder)
			secondHeld := make(chan *Lock)
			go func() {
				second, _, err := Acquire(context.Background(), kube, "ns", "app", opts, nil)
				if err != nil {
					t.Error(err)
				}
				secondHeld <- second
			}()
			select {
			case <-firstCtx.Done():
			case second := <-secondHeld:
				second.Release()
				t.Fatalf("a second run took the lease over while the first still runs")
			}
			lease, err := kube.CoordinationV1().Leases("ns").Get(context.Background(), LeaseName("app"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if *lease.Spec.HolderIdentity != first.holder {
				t.Fatalf("the lease was taken over by %q before the first holder gave up", *lease.Spec.HolderIdentity)
			}
			cause := context.Cause(firstCtx)
			if !errors.Is(cause, ErrLost) || !strings.Contains(cause.Error(), "was not renewed for 2s (last error: "+tt.lastError+"); stopped before another run can take it over") {
				t.Fatalf("the first run ended with %v", cause)
			}
			first.Release()
			second := <-secondHeld
			if second != nil {
				second.Release()
			}
		})
	}
}

// TestOutageCostsTimeNotTheRun: while the API server answers nobody (503 on every renewal
// for longer than the lease), no other run can take the lease over and the run's own writes
// fail too, so the holder keeps its run and renews again once the API server is back.
func TestOutageCostsTimeNotTheRun(t *testing.T) {
	kube := fake.NewClientset()
	opts := Options{Duration: 3 * time.Second, Operation: "converge"}
	// The reactor is in place before the renewals start (client-go's fake does not guard
	// its reactor chain against a renewal reading it meanwhile).
	var outage atomic.Bool
	var failed atomic.Int32
	longerThanTheLease := make(chan struct{})
	kube.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if !outage.Load() {
			return false, nil, nil
		}
		// Renewals come every third of the lease: the ninth failed one starts after the eighth
		// was judged, more than twice the lease after the first.
		if failed.Add(1) == 9 {
			close(longerThanTheLease)
		}
		return true, nil, apierrors.NewServiceUnavailable("the API server is restarting")
	})
	held, ctx, err := Acquire(context.Background(), kube, "ns", "app", opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	outage.Store(true)
	select {
	case <-longerThanTheLease:
	case <-ctx.Done():
		t.Fatalf("an outage cancelled the run after %d failed renewals: %v", failed.Load(), context.Cause(ctx))
	}
	if ctx.Err() != nil {
		t.Fatalf("an outage cancelled the run: %v", context.Cause(ctx))
	}
	before := held.currentLease().Spec.RenewTime.Time
	outage.Store(false)
	for held.currentLease().Spec.RenewTime.Time.Equal(before) {
		if ctx.Err() != nil {
			t.Fatalf("the run ended after the outage: %v", context.Cause(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
