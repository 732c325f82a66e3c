package deploy

import (
	"fmt"
	"strings"
	"testing"
)

func TestMurmur3KnownValues(t *testing.T) {
	// Reference values of MurmurHash3 x86_32 with seed 0.
	for in, want := range map[string]uint32{"": 0, "hello": 0x248bfa47, "The quick brown fox jumps over the lazy dog": 0x2e4ff723} {
		if got := murmur3([]byte(in)); got != want {
			t.Fatalf("murmur3(%q) = %08x, want %08x", in, got, want)
		}
	}
}

func TestReleaseName(t *testing.T) {
	tests := []struct {
		name, explicit, chart, env string
		want                       string
		wantErr                    string
	}{
		{name: "chart name", chart: "shop", want: "shop"},
		{name: "chart and env", chart: "shop", env: "production", want: "shop-production"},
		{name: "explicit wins", explicit: "my-release", chart: "shop", env: "x", want: "my-release"},
		{name: "explicit is validated, not slugged", explicit: "My_Release", chart: "shop", wantErr: `--release "My_Release"`},
		{name: "invalid env is slugged", chart: "shop", env: "Feature/JIRA_123", want: "shop-feature-jira-123-" + hashOf("shop-Feature/JIRA_123")},
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
}

func TestSlugCropsLongNamesKeepingThemDistinct(t *testing.T) {
	long := strings.Repeat("service", 10)
	a, b := Slug(long+"-a", 53), Slug(long+"-b", 53)
	if len(a) > 53 || len(b) > 53 || a == b {
		t.Fatalf("Slug gave %q and %q", a, b)
	}
	if err := ValidateReleaseName(a); err != nil {
		t.Fatalf("slug %q is not a valid release name: %v", a, err)
	}
}

func hashOf(s string) string { return fmt.Sprintf("%08x", murmur3([]byte(s))) }
