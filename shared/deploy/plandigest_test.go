package deploy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-converge/converge/shared/redact"
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

func configMapObject(password, label string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "app", "labels": map[string]any{"tier": label}},
		"data":     map[string]any{"dsn": "postgres://app:" + password + "@db/app", "plain": "x"}}
}

// TestPlanDigestHidesRegisteredSecrets: a decrypted secret value rendered outside a Secret (a
// ConfigMap's data here) does not enter the digest either, whatever its value; whether it
// equals the live one does, and so does the rest of the object.
func TestPlanDigestHidesRegisteredSecrets(t *testing.T) {
	redact.Add("cm-guess-1", "cm-guess-2", "cm-live-1")
	digest := func(planned, live map[string]any) string {
		t.Helper()
		d, err := maskedDigest([][2]map[string]any{{planned, live}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := digest(configMapObject("cm-guess-1", "a"), nil)
	live := configMapObject("cm-live-1", "a")
	tests := []struct {
		name          string
		planned, live map[string]any
		same          bool
	}{
		{name: "another secret value, created", planned: configMapObject("cm-guess-2", "a"), same: true},
		{name: "a value nobody registered", planned: configMapObject("not-a-secret", "a")},
		{name: "another label", planned: configMapObject("cm-guess-1", "b")},
		{name: "unchanged against the live object", planned: configMapObject("cm-live-1", "a"), live: live},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := digest(tt.planned, tt.live); (got == base) != tt.same {
				t.Fatalf("digest %s, base %s: want same=%v", got, base, tt.same)
			}
		})
	}
	if a, b := digest(configMapObject("cm-guess-1", "a"), live), digest(configMapObject("cm-guess-2", "a"), live); a != b {
		t.Fatalf("two changed secret values give digests %s and %s", a, b)
	}
}

// TestPlanLiveDigestHoldsNoSecret: a live object holding a registered secret, or planned to
// hold one, is recorded by its resourceVersion, not by a hash of its content.
func TestPlanLiveDigestHoldsNoSecret(t *testing.T) {
	redact.Add("live-guess-1")
	object := func(obj map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: obj}
		u.SetResourceVersion("42")
		return u
	}
	tests := []struct {
		name      string
		live      map[string]any
		planned   map[string]any
		byVersion bool
	}{
		{name: "plain ConfigMap", live: configMapObject("not-a-secret", "a"), planned: configMapObject("not-a-secret", "a")},
		{name: "secret in the live object", live: configMapObject("live-guess-1", "a"), byVersion: true},
		{name: "secret only in the planned object", live: configMapObject("old-unknown-value", "a"), planned: configMapObject("live-guess-1", "a"), byVersion: true},
		{name: "a Secret", live: secretObject("anything", "a"), byVersion: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := object(tt.live)
			got := planLiveDigest(live, tt.planned)
			if strings.HasPrefix(got, liveDigestByVersion) != tt.byVersion {
				t.Fatalf("digest %q: want by resourceVersion %v", got, tt.byVersion)
			}
			if liveMoved(got, live) {
				t.Fatalf("the same live object counts as moved")
			}
			moved := object(tt.live)
			moved.SetResourceVersion("43")
			moved.SetLabels(map[string]string{"edited": "by-hand"})
			if !liveMoved(got, moved) {
				t.Fatalf("an edited live object does not count as moved")
			}
		})
	}
}
