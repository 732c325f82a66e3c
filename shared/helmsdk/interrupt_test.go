package helmsdk

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

func TestAfterGraceEndsOnlyAGracePeriodAfterItsParent(t *testing.T) {
	parent, interrupt := context.WithCancel(context.Background())
	child, cancel := afterGrace(parent, 50*time.Millisecond)
	defer cancel()
	interrupt()
	select {
	case <-child.Done():
		t.Fatal("the context Helm gets ended with the interruption: Helm would return before recording the failure")
	default:
	}
	<-child.Done()
	if context.Cause(parent) == nil {
		t.Fatal("the parent was not interrupted")
	}

	live, cancelLive := afterGrace(context.Background(), time.Hour)
	cancelLive()
	<-live.Done() // cancel ends it at once, whatever the grace
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
