package helmsdk

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

func TestAfterGraceEndsOnlyAGracePeriodAfterItsParent(t *testing.T) {
	// A grace longer than any stall of a loaded machine between the interruption and the
	// check: the context Helm gets must still be live.
	parent, interrupt := context.WithCancel(context.Background())
	child, returned := afterGrace(parent, time.Hour)
	interrupt()
	select {
	case <-child.Done():
		t.Fatal("the context Helm gets ended with the interruption: Helm would return before recording the failure")
	default:
	}
	returned()

	// A short grace ends it, never before the grace is over.
	parent, interrupt = context.WithCancel(context.Background())
	const grace = 50 * time.Millisecond
	child, returned = afterGrace(parent, grace)
	defer returned()
	interrupted := time.Now()
	interrupt()
	<-child.Done()
	if waited := time.Since(interrupted); waited < grace {
		t.Fatalf("the context Helm gets ended %s after the interruption, before its grace of %s", waited, grace)
	}

	// Helm returning does not end it: Helm's upgrade marks its revision failed when its
	// context ends after the upgrade returned, before its goroutine saw that it returned.
	live, returnedLive := afterGrace(context.Background(), time.Hour)
	returnedLive()
	select {
	case <-live.Done():
		t.Fatal("the context Helm gets ended as Helm returned: a revision Helm just recorded deployed could be marked failed")
	default:
	}
}

// encodingDriver stores what a release was when it was written (the secret and configmap
// drivers encode it at once; the memory driver would keep the pointer Helm goes on changing).
// The write Helm makes as a hook starts interrupts the run and lands a moment later, as on a
// slow API server, so that any write made meanwhile comes before it.
type encodingDriver struct {
	driver.Driver
	interrupt func()
}

func snapshot(r *release.Release) *release.Release {
	out, info := *r, *r.Info
	out.Info = &info
	return &out
}

func (d *encodingDriver) Create(key string, r *release.Release) error {
	return d.Driver.Create(key, snapshot(r))
}

func (d *encodingDriver) Update(key string, r *release.Release) error {
	stored := snapshot(r)
	if stored.Info.Status.IsPending() {
		d.interrupt()
		time.Sleep(300 * time.Millisecond)
	}
	return d.Driver.Update(key, stored)
}

// failingHookKube is a kube client whose hook wait fails at once, as the applier's does once
// the run is interrupted.
type failingHookKube struct {
	kubefake.PrintingKubeClient
	waited chan struct{}
}

func (k *failingHookKube) WatchUntilReady(kube.ResourceList, time.Duration) error {
	close(k.waited)
	return errors.New("interrupted: context canceled")
}

func TestInterruptedInstallLeavesItsRevisionFailed(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	hookKube := &failingHookKube{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}, waited: make(chan struct{})}
	c := &Client{namespace: "ns", cfg: &action.Configuration{
		Releases:     storage.Init(&encodingDriver{Driver: driver.NewMemory(), interrupt: interrupt}),
		KubeClient:   hookKube,
		Capabilities: chartutil.DefaultCapabilities,
		Log:          func(string, ...any) {},
	}}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/hook.yaml", Data: []byte(
			"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n")}},
	}
	// Interrupted as the hook starts.
	_, err := c.UpgradeOrInstall(ctx, UpgradeRequest{ReleaseName: "app", Chart: charts.FromHelm(ch), Values: map[string]any{}, Timeout: time.Minute})
	if err == nil {
		t.Fatal("the interrupted install succeeded")
	}
	<-hookKube.waited // Helm's own goroutine made its writes
	stored, gerr := c.cfg.Releases.Get("app", 1)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if stored.Info.Status != release.StatusFailed {
		t.Fatalf("revision 1 is left %s after the install returned %q", stored.Info.Status, err)
	}
}

func TestFailPendingMarksOnlyAPendingRevisionFailed(t *testing.T) {
	for _, tc := range []struct {
		status release.Status
		want   release.Status
	}{
		{release.StatusPendingInstall, release.StatusFailed},
		{release.StatusPendingUpgrade, release.StatusFailed},
		{release.StatusFailed, release.StatusFailed},
		{release.StatusDeployed, release.StatusDeployed},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			c := &Client{cfg: &action.Configuration{Releases: storage.Init(driver.NewMemory()), KubeClient: &kubefake.PrintingKubeClient{Out: io.Discard}, Log: func(string, ...any) {}}}
			stored := &release.Release{Name: "shop", Namespace: "ns", Version: 1, Info: &release.Info{Status: tc.status}}
			if err := c.cfg.Releases.Create(stored); err != nil {
				t.Fatal(err)
			}
			got := c.failPending("shop", nil, errors.New("interrupted"))
			read, err := c.cfg.Releases.Get("shop", 1)
			if err != nil {
				t.Fatal(err)
			}
			if read.Info.Status != tc.want || got == nil || got.Info.Status != tc.want {
				t.Fatalf("stored %s, returned %v; want %s", read.Info.Status, got, tc.want)
			}
			if tc.status.IsPending() && !strings.Contains(read.Info.Description, "interrupted") {
				t.Fatalf("description %q does not say the run was interrupted", read.Info.Description)
			}
		})
	}
}
