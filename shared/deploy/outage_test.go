package deploy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/shared/track"
)

func TestOutageErrorSaysWhatTheNextRunNeeds(t *testing.T) {
	since := time.Date(2026, 12, 5, 17, 28, 10, 0, time.UTC)
	tests := []struct {
		name string
		err  OutageError
		want string
	}{
		{
			name: "objects applied, revision marked failed",
			err: OutageError{Since: since, Cause: "connection refused", Release: `release "shop" revision 2, left pending-upgrade, was marked failed`,
				Applied: []track.Ref{{Kind: "ConfigMap", Name: "settings"}, {Group: "apps", Kind: "Deployment", Name: "web"}}},
			want: `the Kubernetes API server was unreachable since 17:28:10 (connection refused) when --timeout ran out: 2 object(s) applied: cm/settings, deploy/web; release "shop" revision 2, left pending-upgrade, was marked failed; the next converge recovers the release and deploys again`,
		},
		{
			name: "nothing applied",
			err:  OutageError{Since: since, Cause: "EOF", Release: `release "shop" has no revision yet`},
			want: `the Kubernetes API server was unreachable since 17:28:10 (EOF) when --timeout ran out: no object was applied; release "shop" has no revision yet; the next converge recovers the release and deploys again`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if !errors.Is(&tt.err, context.DeadlineExceeded) {
				t.Fatal("an outage at the deadline is a timeout")
			}
		})
	}
}
