package deploy

import (
	"encoding/json"
	"strings"
	"testing"
)

func secretObject(password, label string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "db", "labels": map[string]any{"tier": label}},
		"stringData": map[string]any{"password": password}}
}

// TestPlanDigestHoldsNoSecret: a plan's digest does not depend on a secret's value (nobody can
// test a guess of it offline), yet changes with the non-secret content and with whether a
// secret equals the live one (what --use-plan checks against the cluster).
func TestPlanDigestHoldsNoSecret(t *testing.T) {
	digest := func(planned, live map[string]any) string {
		t.Helper()
		d, err := maskedDigest([][2]map[string]any{{planned, live}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := digest(secretObject("guess-me-1", "a"), nil)
	tests := []struct {
		name          string
		planned, live map[string]any
		same          bool
	}{
		{name: "another secret value, created", planned: secretObject("guess-me-2", "a"), same: true},
		{name: "another label", planned: secretObject("guess-me-1", "b")},
		// Whether the object exists is checked by its live digest, not here.
		{name: "the secret equals the live one", planned: secretObject("guess-me-1", "a"), live: secretObject("guess-me-1", "a"), same: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := digest(tt.planned, tt.live); (got == base) != tt.same {
				t.Fatalf("digest %s, base %s: want same=%v", got, base, tt.same)
			}
		})
	}
	// Against a live Secret, an unchanged and a changed value differ; two changed values
	// do not (neither is in the plan).
	live := secretObject("live-value", "a")
	unchanged, changedA, changedB := digest(secretObject("live-value", "a"), live), digest(secretObject("new-1", "a"), live), digest(secretObject("new-2", "a"), live)
	if unchanged == changedA || changedA != changedB {
		t.Fatalf("unchanged %s, changed %s and %s", unchanged, changedA, changedB)
	}
}

// TestSavedPlanHasNoKey: a saved plan carries no digest key.
func TestSavedPlanHasNoKey(t *testing.T) {
	data, err := json.Marshal(&Plan{Release: "app", Namespace: "ns", Digest: "masked-sha256:00"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(data)), "key") {
		t.Fatalf("the saved plan holds a key: %s", data)
	}
}
