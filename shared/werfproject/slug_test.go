package werfproject

import (
	"fmt"
	"strings"
	"testing"
)

// The expected slugs are werf's own test vectors (werf pkg/slug/slug_test.go) and what its
// rules give for release and namespace names.
func TestSlugMatchesWerf(t *testing.T) {
	tests := []struct {
		data string
		max  int
		want string
	}{
		{"A", 42, "a-54dcf7ce"},
		{strings.Repeat("x", 43), 42, strings.Repeat("x", 42-len("-27e2f02f")) + "-27e2f02f"},
		// The hash is not zero-padded, and a crop ending in a dash keeps it.
		{"php_fpm_exporter-monitoring-dev-encrypt-1", 48, "php-fpm-exporter-monitoring-dev-encrypt--83286e5"},
		{"postgres-feature-31981-change-delivery-date-del-result", 48, "postgres-feature-31981-change-delivery--852739dc"},
	}
	for _, tt := range tests {
		if got := slug(tt.data, tt.max); got != tt.want {
			t.Errorf("slug(%q, %d) = %q, want %q", tt.data, tt.max, got, tt.want)
		}
	}
}

func TestReleaseAndNamespaceSlugs(t *testing.T) {
	tests := []struct {
		name, release, namespace string
	}{
		{"shop-production", "shop-production", "shop-production"},
		// Dots are valid in release names (a DNS-1123 subdomain), not in namespaces.
		{"shop.v2-production", "shop.v2-production", "shop-v2-production-" + hex(murmur3([]byte("shop.v2-production")))},
		{"Shop_Review-Ünïcode", "shop-review-unicode-" + hex(murmur3([]byte("Shop_Review-Ünïcode"))), "shop-review-unicode-" + hex(murmur3([]byte("Shop_Review-Ünïcode")))},
	}
	for _, tt := range tests {
		if got := ReleaseSlug(tt.name); got != tt.release {
			t.Errorf("ReleaseSlug(%q) = %q, want %q", tt.name, got, tt.release)
		}
		if got := NamespaceSlug(tt.name); got != tt.namespace {
			t.Errorf("NamespaceSlug(%q) = %q, want %q", tt.name, got, tt.namespace)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Feature/JIRA_123": "feature-jira-123",
		"--a--b--":         "a-b",
		"Ærø Straße":       "aero-strabe",
		"日本 review!":       "review",
		"crème brûlée 2.0": "creme-brulee-2-0",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func hex(v uint32) string { return fmt.Sprintf("%x", v) }

func TestMurmur3KnownValues(t *testing.T) {
	// Reference values of MurmurHash3 x86_32 with seed 0.
	for in, want := range map[string]uint32{"": 0, "hello": 0x248bfa47, "The quick brown fox jumps over the lazy dog": 0x2e4ff723} {
		if got := murmur3([]byte(in)); got != want {
			t.Fatalf("murmur3(%q) = %08x, want %08x", in, got, want)
		}
	}
}

func TestSlugCropsLongNamesKeepingThemDistinct(t *testing.T) {
	long := strings.Repeat("Service", 10)
	a, b := ReleaseSlug(long+"-a"), ReleaseSlug(long+"-b")
	if len(a) > MaxReleaseLength || len(b) > MaxReleaseLength || a == b {
		t.Fatalf("slugs %q and %q", a, b)
	}
	if err := ValidateRelease(a); err != nil {
		t.Fatalf("slug %q is not a valid release name: %v", a, err)
	}
}
