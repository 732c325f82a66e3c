// Package releaselock serializes the operations on one release: converge's own Lease and
// werf's and nelm's lockgate lock, taken together, renewed while the operation runs.
package releaselock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-converge/converge/shared/event"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/kuberetry"
	"github.com/kubectl-converge/converge/shared/redact"
)

// Options tune the release lock.
type Options struct {
	// Wait is how long to wait for a lock another run holds; zero waits as long as the
	// operation's own timeout allows.
	Wait time.Duration
	// Duration is how long a lease stays valid without renewal: a run killed without
	// releasing it blocks others this long. Zero means DefaultDuration.
	Duration time.Duration
	// Operation names what the holder does, for the waiting side to read ("converge").
	Operation string
}

// DefaultDuration is how long a lease of a killed run blocks the release.
const DefaultDuration = 15 * time.Second

// LockName is the Lease that serializes operations on a release in its namespace.
func LeaseName(release string) string { return "converge-lock-" + release }

// Lock is a held release lock; Release gives it up.
type Lock struct {
	leases    func() leaseClient
	name      string
	namespace string
	holder    string
	duration  time.Duration

	// observed is the other holder's lease as last seen, and observedAt when it was first
	// seen so (by this machine's clock).
	observed   string
	observedAt time.Time

	// werf is the werf-compatible lock held with the lease; nil when the deployer may not
	// write the werf-synchronization ConfigMap.
	werf *werfLock

	mu    sync.Mutex
	lease *coordinationv1.Lease
	stop  context.CancelFunc
	done  chan struct{}
	// werfDone is closed when the werf lease's renewal has stopped.
	werfDone chan struct{}
	lostFn   context.CancelCauseFunc
}

type leaseClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Create(ctx context.Context, lease *coordinationv1.Lease, opts metav1.CreateOptions) (*coordinationv1.Lease, error)
	Update(ctx context.Context, lease *coordinationv1.Lease, opts metav1.UpdateOptions) (*coordinationv1.Lease, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

var errNoNamespace = errors.New("the namespace does not exist")

// ErrLost ends an operation whose lease another run took over (it was not renewed in
// time: the process was stopped or the API server unreachable for too long).
var ErrLost = errors.New("lost the release lock")

// Acquire takes the release's lock, a coordination.k8s.io Lease in the release
// namespace, waiting while another run holds it. The returned context ends when the lock is
// lost; the lease is renewed until Release.
func Acquire(ctx context.Context, kube kubernetes.Interface, namespace, release string, opts Options, sink event.Sink) (*Lock, context.Context, error) {
	if opts.Duration == 0 {
		opts.Duration = DefaultDuration
	}
	l := &Lock{
		leases:    func() leaseClient { return kube.CoordinationV1().Leases(namespace) },
		name:      LeaseName(release),
		namespace: namespace,
		holder:    holderIdentity(opts.Operation),
		duration:  opts.Duration,
	}
	waitCtx := ctx
	if opts.Wait > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, opts.Wait)
		defer cancel()
	}
	announced := ""
	for {
		held, other, err := l.tryAcquire(waitCtx)
		if errors.Is(err, errNoNamespace) {
			// No release can live in a missing namespace: there is nothing to serialize.
			return nil, ctx, nil
		}
		if err != nil {
			grant := ""
			if apierrors.IsForbidden(err) {
				grant = fmt.Sprintf(": grant get, create, update and delete on leases.coordination.k8s.io in namespace %q", namespace)
			}
			return nil, nil, fmt.Errorf("take the release lock (lease %q in namespace %q): %w%s", l.name, namespace, err, grant)
		}
		if held {
			break
		}
		if other != announced && sink != nil {
			announced = other
			sink(event.Event{Type: event.TypeStage, Time: time.Now(), Stage: "lock", Line: fmt.Sprintf("waiting for release %q: locked by %s (lease %s in namespace %s)", release, other, l.name, namespace)})
		}
		select {
		case <-waitCtx.Done():
			return nil, nil, exitcode.Wrap(exitcode.CodeTimeout, fmt.Errorf("release %q is locked by %s (lease %q in namespace %q): gave up waiting; retry later, or raise --lock-timeout", release, other, l.name, namespace))
		case <-time.After(time.Second):
		}
	}
	renewCtx, stop := context.WithCancel(context.Background())
	l.stop = stop
	l.done = make(chan struct{})
	opCtx, lost := context.WithCancelCause(ctx)
	l.lostFn = lost
	redact.Go(func() { l.renew(renewCtx) })
	werf, err := acquireWerfLock(waitCtx, kube, namespace, release, sink)
	if err != nil {
		l.Release()
		return nil, nil, err
	}
	if werf != nil {
		l.werf = werf
		l.werfDone = make(chan struct{})
		redact.Go(func() { l.renewWerf(renewCtx) })
	}
	return l, opCtx, nil
}

// acquireWerfLock waits for the werf-compatible lock of the release; nil when the deployer may
// not use the ConfigMap it lives in, which is said as a warning.
func acquireWerfLock(ctx context.Context, kube kubernetes.Interface, namespace, release string, sink event.Sink) (*werfLock, error) {
	w := newWerfLock(kube, namespace, release)
	announced := ""
	for {
		held, other, err := w.tryAcquire(ctx)
		if errors.Is(err, errWerfLockForbidden) {
			if sink != nil {
				sink(event.Event{Type: event.TypeStage, Time: time.Now(), Stage: "lock", Warning: true, Line: fmt.Sprintf("werf-compatible lock not taken (%v on configmap %s in namespace %s): werf and nelm runs on release %q are not kept from running at the same time", err, WerfConfigMap, namespace, release)})
			}
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("take the werf-compatible release lock (configmap %q in namespace %q): %w", WerfConfigMap, namespace, err)
		}
		if held {
			return w, nil
		}
		if other != announced && sink != nil {
			announced = other
			sink(event.Event{Type: event.TypeStage, Time: time.Now(), Stage: "lock", Line: fmt.Sprintf("waiting for release %q: locked by werf or nelm (%s in configmap %s, namespace %s)", release, other, WerfConfigMap, namespace)})
		}
		select {
		case <-ctx.Done():
			return nil, exitcode.Wrap(exitcode.CodeTimeout, fmt.Errorf("release %q is locked by werf or nelm (%s in configmap %q, namespace %q): gave up waiting; retry later, or raise --lock-timeout", release, other, WerfConfigMap, namespace))
		case <-time.After(time.Second):
		}
	}
}

// renewWerf keeps the werf lease fresh as lockgate's renew worker does; when another run took
// it over, or no renewal succeeded within its renew deadline, the operation is cancelled.
func (l *Lock) renewWerf(ctx context.Context) {
	deadline := newRenewDeadline(werfLeaseTTL)
	everyTick(ctx, werfLeaseRenewPeriod, l.werfDone, func() bool {
		renewCtx, cancel := deadline.context(ctx)
		err := l.werf.renew(renewCtx)
		cancel()
		switch {
		case err == nil:
			deadline.succeeded()
		case errors.Is(err, errWerfLeaseLost):
			l.lostFn(fmt.Errorf("%w: the werf lease in configmap %q of namespace %q was taken over", ErrLost, WerfConfigMap, l.namespace))
			return false
		case unreachable(err):
		case deadline.passed(ctx):
			l.lostFn(deadline.lost(fmt.Sprintf("the werf lease in configmap %q of namespace %q", WerfConfigMap, l.namespace), err))
			return false
		}
		return true
	})
}

// renewDeadline follows the renewals of a lease held for duration: once none has succeeded
// for the duration minus a third (client-go's leader election keeps its RenewDeadline, 10 s,
// that far under its LeaseDuration, 15 s), the holder gives the run up before another run
// can take the expired lease over, so that two runs never both believe they hold it.
type renewDeadline struct {
	within time.Duration
	last   time.Time
}

func newRenewDeadline(duration time.Duration) *renewDeadline {
	return &renewDeadline{within: duration - duration/3, last: time.Now()}
}

func (d *renewDeadline) succeeded() { d.last = time.Now() }

// context bounds one renewal by the deadline, so that a hanging request cannot outlive it;
// once the deadline passed during an outage, each attempt gets half of it.
func (d *renewDeadline) context(ctx context.Context) (context.Context, context.CancelFunc) {
	end := d.last.Add(d.within)
	if least := time.Now().Add(d.within / 2); end.Before(least) {
		end = least
	}
	return context.WithDeadline(ctx, end)
}

// unreachable says a renewal failed because the API server did not answer it (restarting,
// overloaded, the connection refused or cut, the request timed out). No other run can take
// the lease over through an API server that answers nobody, and this run's own writes fail
// as well, so an outage costs time, not the run: the holder keeps trying, and the first
// renewal that gets through either keeps the lease or finds it taken over (a conflict) and
// stops the run. An API server that answers with anything else counts toward the deadline.
func unreachable(err error) bool {
	var netErr net.Error
	return kuberetry.Unreachable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// passed says the deadline passed while the run goes on (not when ctx ended: Release).
func (d *renewDeadline) passed(ctx context.Context) bool {
	return ctx.Err() == nil && time.Since(d.last) >= d.within
}

func (d *renewDeadline) lost(what string, err error) error {
	return fmt.Errorf("%w: %s was not renewed for %s (last error: %v); stopped before another run can take it over", ErrLost, what, d.within.Round(time.Second), err)
}

// everyTick calls step every period until it returns false or ctx ends, then closes done.
func everyTick(ctx context.Context, period time.Duration, done chan struct{}, step func() bool) {
	defer close(done)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !step() {
			return
		}
	}
}

// tryAcquire takes the lease when it is free or expired; otherwise it says who holds it.
func (l *Lock) tryAcquire(ctx context.Context) (held bool, holder string, err error) {
	leases := l.leases()
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(l.duration / time.Second)
	current, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		created, err := leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: l.name, Namespace: l.namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-converge"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &l.holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Another run's lease, or ours stored by an attempt whose answer was lost.
			if current, gerr := leases.Get(ctx, l.name, metav1.GetOptions{}); gerr == nil {
				if current.Spec.HolderIdentity != nil && *current.Spec.HolderIdentity == l.holder {
					l.setLease(current)
					return true, "", nil
				}
				return false, describeHolder(current), nil
			}
			return false, "another run", nil
		}
		if apierrors.IsNotFound(err) {
			return false, "", errNoNamespace
		}
		if err != nil {
			return false, "", err
		}
		l.setLease(created)
		return true, "", nil
	}
	if err != nil {
		return false, "", err
	}
	if current.Spec.HolderIdentity != nil && *current.Spec.HolderIdentity == l.holder {
		// Our own create whose answer was lost (a 504 after the API server stored it, then
		// retried into AlreadyExists): the identity is this run's alone, so the lock is ours.
		l.setLease(current)
		return true, "", nil
	}
	if !l.expired(current, time.Now()) {
		return false, describeHolder(current), nil
	}
	taken := current.DeepCopy()
	taken.Spec.HolderIdentity = &l.holder
	taken.Spec.LeaseDurationSeconds = &seconds
	taken.Spec.AcquireTime = &now
	taken.Spec.RenewTime = &now
	updated, err := leases.Update(ctx, taken, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return false, describeHolder(current), nil
	}
	if err != nil {
		return false, "", err
	}
	l.setLease(updated)
	return true, "", nil
}

// expired says whether a lease another run holds may be taken over. As client-go's leader
// election does, it trusts this machine's observation, not the holder's clock: a lease
// expires once it has not changed for its duration as seen from here. A lease whose renew
// time is older than its duration plus maxClockSkew by this machine's clock (a run killed
// long ago) is taken over at once; durations above maxLeaseDuration are not trusted.
func (l *Lock) expired(lease *coordinationv1.Lease, now time.Time) bool {
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" || lease.Spec.RenewTime == nil {
		return true
	}
	d := DefaultDuration
	if lease.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	d = min(d, maxLeaseDuration)
	record := *lease.Spec.HolderIdentity + "|" + lease.Spec.RenewTime.UTC().Format(time.RFC3339Nano) + "|" + lease.ResourceVersion
	if record != l.observed {
		l.observed, l.observedAt = record, now
	}
	if now.Sub(l.observedAt) > d {
		return true
	}
	return now.After(lease.Spec.RenewTime.Add(d + maxClockSkew))
}

const (
	// maxClockSkew is how far apart two runners' clocks may be without one taking the
	// other's live lock.
	maxClockSkew = 30 * time.Second
	// maxLeaseDuration caps the lease duration a run trusts: a pre-created lease with a huge
	// duration must not block a release forever.
	maxLeaseDuration = 2 * time.Minute
)

func describeHolder(lease *coordinationv1.Lease) string {
	holder := "an unnamed holder"
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		holder = *lease.Spec.HolderIdentity
	}
	if lease.Spec.AcquireTime != nil {
		holder += " since " + lease.Spec.AcquireTime.UTC().Format(time.RFC3339)
	}
	return holder
}

// currentLease is the lease as last written or read.
func (l *Lock) currentLease() *coordinationv1.Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lease.DeepCopy()
}

func (l *Lock) setLease(lease *coordinationv1.Lease) {
	l.mu.Lock()
	l.lease = lease
	l.mu.Unlock()
}

// renew keeps the lease fresh; when another run took it over, or no renewal succeeded
// within the renew deadline, the operation is cancelled.
func (l *Lock) renew(ctx context.Context) {
	deadline := newRenewDeadline(l.duration)
	everyTick(ctx, l.duration/3, l.done, func() bool {
		lease := l.currentLease()
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.RenewTime = &now
		renewCtx, cancel := deadline.context(ctx)
		defer cancel()
		updated, err := l.leases().Update(renewCtx, lease, metav1.UpdateOptions{})
		switch {
		case err == nil:
			l.setLease(updated)
			deadline.succeeded()
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			if current, gerr := l.leases().Get(renewCtx, l.name, metav1.GetOptions{}); gerr == nil && current.Spec.HolderIdentity != nil && *current.Spec.HolderIdentity == l.holder {
				l.setLease(current)
				return true
			}
			l.lostFn(fmt.Errorf("%w: lease %q in namespace %q was taken over", ErrLost, l.name, l.namespace))
			return false
		case unreachable(err):
		case deadline.passed(ctx):
			l.lostFn(deadline.lost(fmt.Sprintf("lease %q in namespace %q", l.name, l.namespace), err))
			return false
		}
		// An unreachable API server is retried at the next tick for as long as it lasts,
		// other errors until the renew deadline.
		return true
	})
}

// Release stops renewing and deletes the lease, unless another run took it over meanwhile.
func (l *Lock) Release() {
	if l == nil {
		return
	}
	l.stop()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if l.werf != nil {
		<-l.werfDone
		// When this fails the werf lease expires by itself within lockgate's TTL.
		_ = l.werf.release(ctx)
	}
	l.mu.Lock()
	lease := l.lease
	l.mu.Unlock()
	rv := lease.ResourceVersion
	// When the delete fails the lease expires by itself: the next run takes it over after
	// Duration. The precondition keeps a lease another run took over meanwhile.
	_ = l.leases().Delete(ctx, l.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	l.lostFn(nil)
}

func holderIdentity(operation string) string {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if operation == "" {
		operation = "deploy"
	}
	run := make([]byte, 4)
	_, _ = rand.Read(run)
	return fmt.Sprintf("%s by %s@%s (pid %d, run %s)", operation, who, host, os.Getpid(), hex.EncodeToString(run))
}
