package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// deployerRole is what a CI deployer needs in its namespace to converge and dismiss the demo
// app: its kinds, the release storage (Secrets), the release lock (Leases) and what tracking
// reads (ReplicaSets, Pods, their logs, Events).
const deployerRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer}
rules:
- apiGroups: [""]
  resources: [configmaps, services, secrets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [pods, pods/log, events]
  verbs: [get, list, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update, delete]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer}]
`

// serviceAccountKubeconfig writes a kubeconfig for the local cluster that authenticates as
// the ServiceAccount with a token, so that RBAC applies as it does to a CI deployer.
func serviceAccountKubeconfig(t *testing.T, env *harness.Env, ns, sa string) string {
	t.Helper()
	server := env.Kubectl(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	ca := env.Kubectl(t, "config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	token := strings.TrimSpace(env.Kubectl(t, "-n", ns, "create", "token", sa))
	path := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, path, `apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "`+server+`", certificate-authority-data: "`+ca+`"}}]
users: [{name: `+sa+`, user: {token: "`+token+`"}}]
contexts: [{name: deployer, context: {cluster: local, user: `+sa+`, namespace: `+ns+`}}]
current-context: deployer
`)
	return path
}

// TestLeastPrivilegeDeployer converges and dismisses as a ServiceAccount limited to its
// namespace by a Role; with a verb taken away, the converge fails before recording a
// revision, naming the verb, the resource and the namespace.
func TestLeastPrivilegeDeployer(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, deployerRole)
	kubeconfig := serviceAccountKubeconfig(t, env, ns, "deployer")
	chart := filepath.Join(env.RepoRoot, "examples", "demo-app")
	asDeployer := func(args ...string) harness.Result {
		t.Helper()
		return env.Command(t, "kubectl", args...).Env("KUBECONFIG", kubeconfig).Run()
	}
	// The namespace comes from the context: a deployer often cannot read namespaces.
	if res := asDeployer("converge", chart, "--release", "app"); res.ExitCode != 0 {
		t.Fatalf("converge as the deployer: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "deployment/app-web", "{.status.readyReplicas}"); got != "2" {
		t.Fatalf("app-web ready replicas %q after the deployer's converge", got)
	}
	if res := asDeployer("converge", "dismiss", "app"); res.ExitCode != 0 {
		t.Fatalf("dismiss as the deployer: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "deployments,configmaps,services,leases", "-o", "name"); strings.Contains(out, "app-") || strings.Contains(out, "lease") {
		t.Fatalf("left after dismiss:\n%s", out)
	}

	env.Kubectl(t, "-n", ns, "patch", "role", "deployer", "--type", "json", "-p",
		`[{"op": "replace", "path": "/rules/1/verbs", "value": ["get", "list", "watch", "update", "delete"]}]`)
	res := asDeployer("converge", chart, "--release", "app")
	want := `forbidden: you may not create, patch deployments.apps in namespace "` + ns + `"`
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "kubectl create role NAME -n "+ns+" --verb=create,patch --resource=deployments.apps") {
		t.Fatalf("converge without create and patch on deployments: exit %d, want 1 and %q\n%s", res.ExitCode, want, res.Stderr)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "secrets", "-l", "owner=helm,name=app", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("the refused converge recorded a revision; release secrets:\n%s", out)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "leases", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("the refused converge left its lock: %s", out)
	}
}
