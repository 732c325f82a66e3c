package inputs

import (
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/werfproject"
)

func TestReleaseName(t *testing.T) {
	tests := []struct {
		name, explicit, chart, env string
		want                       string
		wantErr                    string
	}{
		{name: "chart name", chart: "shop", want: "shop"},
		{name: "chart and env", chart: "shop", env: "production", want: "shop-production"},
		{name: "dots are valid in release names", chart: "shop.v2", env: "production", want: "shop.v2-production"},
		{name: "explicit wins", explicit: "my-release", chart: "shop", env: "x", want: "my-release"},
		{name: "explicit is validated, not slugged", explicit: "My_Release", chart: "shop", wantErr: `--release "My_Release"`},
		{name: "invalid env is slugged", chart: "shop", env: "Feature/JIRA_123", want: werfproject.ReleaseSlug("shop-Feature/JIRA_123")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReleaseName(tt.explicit, tt.chart, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReleaseName() = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReleaseName() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if got := werfproject.ReleaseSlug("shop-Feature/JIRA_123"); !strings.HasPrefix(got, "shop-feature-jira-123-") {
		t.Fatalf("slug %q", got)
	}
}
