package e2e

import (
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// TestNothingDeletedThatIsNotOurs: an object another release owns survives a failed
// --force-adoption converge's auto-rollback (it goes back to its owner), and a dismiss of a
// release whose object another release has taken over leaves that object.
func TestNothingDeletedThatIsNotOurs(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	shared := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {owner: {{ .Release.Name }}}\n---\n"
	owner := chartWith(t, shared)
	env.Command(t, "kubectl", "converge", owner, "-n", ns, "--release", "owner").Succeed()
	ownerOf := func() string {
		return jsonPath(t, env, ns, "configmap/shared", `{.metadata.annotations.meta\.helm\.sh/release-name}`) + " " +
			jsonPath(t, env, ns, "configmap/shared", `{.metadata.annotations.kubectl-converge\.io/adopted-in-run}`)
	}

	failing := chartWith(t, shared+workload("nowhere", 1, nil, nil, "", "      nodeSelector: {disk: ssd}\n"))
	res := env.Command(t, "kubectl", "converge", failing, "-n", ns, "--release", "taker", "--force-adoption", "--auto-rollback", "--timeout", "3m").Run()
	if res.ExitCode != 3 || !strings.Contains(res.Stderr, "auto-rollback") {
		t.Fatalf("the failing adopting converge: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := ownerOf(); got != "owner " {
		t.Fatalf("after the failed adoption and its auto-rollback the ConfigMap's owner is %q, want owner and no adoption record\n%s", got, res.Stderr)
	}
	if !strings.Contains(res.Stderr, `handed ConfigMap "shared" back to "owner"`) {
		t.Errorf("the hand-back is not said:\n%s", res.Stderr)
	}

	env.Command(t, "kubectl", "converge", chartWith(t, shared), "-n", ns, "--release", "taker", "--force-adoption").Succeed()
	res = env.Command(t, "kubectl", "converge", "dismiss", "owner", "-n", ns).Run()
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, `not deleting ConfigMap "shared": it belongs to release "taker" now`) {
		t.Fatalf("dismiss of the previous owner: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/shared", "{.data.owner}"); got != "taker" {
		t.Fatalf("the ConfigMap taken over by another release was deleted or changed: %q", got)
	}
}

// TestRecreateOfAnotherReleasesObjectRefused: a chart whose ConfigMap is werf.io/ownership:
// anyone with werf.io/delete-policy: before-creation does not delete another release's
// same-named ConfigMap to recreate it: the converge fails with one line naming it and its
// owner, and the object stays as its owner deployed it.
func TestRecreateOfAnotherReleasesObjectRefused(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Command(t, "kubectl", "converge", chartWith(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {owner: {{ .Release.Name }}}\n"), "-n", ns, "--release", "owner").Succeed()
	uid := jsonPath(t, env, ns, "configmap/shared", "{.metadata.uid}")

	taker := chartWith(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  annotations: {werf.io/ownership: anyone, werf.io/delete-policy: before-creation}\ndata: {owner: {{ .Release.Name }}}\n")
	res := env.Command(t, "kubectl", "converge", taker, "-n", ns, "--release", "taker").Run()
	if want := "not recreating cm/shared (werf.io/delete-policy: before-creation): it belongs to release owner/" + ns; res.ExitCode == 0 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("converge of a chart recreating another release's object: exit %d, want %q\n%s", res.ExitCode, want, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/shared", "{.metadata.uid} {.data.owner}"); got != uid+" owner" {
		t.Fatalf("the other release's ConfigMap was recreated or changed: %q, want %q", got, uid+" owner")
	}
}
