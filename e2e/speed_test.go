package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// reviewCounter counts the access questions that pass through an API proxy.
type reviewCounter struct {
	mu            sync.Mutex
	rules, access int
}

func (c *reviewCounter) middleware(w http.ResponseWriter, r *http.Request, next http.Handler) {
	c.mu.Lock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/selfsubjectrulesreviews"):
		c.rules++
	case strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
		c.access++
	}
	c.mu.Unlock()
	next.ServeHTTP(w, r)
}

func (c *reviewCounter) take() (rules, access int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rules, access = c.rules, c.access
	c.rules, c.access = 0, 0
	return rules, access
}

// TestAccessPreflightAsksPerNamespace: the RBAC preflight of a least-privilege deployer
// costs one rules review for its namespace and no access review when the rules grant
// everything; a verb the rules do not grant is asked (and denied) on its own.
func TestAccessPreflightAsksPerNamespace(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	env.Apply(t, ns, deployerRole)
	counter := &reviewCounter{}
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, counter.middleware)
	chart := filepath.Join(env.RepoRoot, "examples", "demo-app")
	asDeployer := func() harness.Result {
		t.Helper()
		return env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "app", "--as", "system:serviceaccount:"+ns+":deployer").
			Env("KUBECONFIG", proxy.Kubeconfig).Run()
	}
	if res := asDeployer(); res.ExitCode != 0 {
		t.Fatalf("converge as the deployer: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if rules, access := counter.take(); rules != 1 || access != 0 {
		t.Fatalf("preflight asked %d rules reviews and %d access reviews, want 1 and 0", rules, access)
	}

	env.Kubectl(t, "-n", ns, "patch", "role", "deployer", "--type", "json", "-p",
		`[{"op": "replace", "path": "/rules/1/verbs", "value": ["get", "list", "watch", "update", "delete"]}]`)
	res := asDeployer()
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, `forbidden: you may not create, patch deployments.apps in namespace "`+ns+`"`) {
		t.Fatalf("exit %d, want 1 naming create and patch of deployments\n%s", res.ExitCode, res.Stderr)
	}
	if rules, access := counter.take(); rules != 1 || access != 2 {
		t.Fatalf("preflight asked %d rules reviews and %d access reviews, want 1 and 2 (create, patch)", rules, access)
	}
}

// TestUnchangedCRDsAreLeftAlone: a CRD whose content did not change is not applied again
// (its resourceVersion stays); one changed by someone else since is applied again and
// restored; a CRD changed in the chart is applied, fields it drops removed (also the first
// time after converge created it).
func TestUnchangedCRDsAreLeftAlone(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	suffix := ns[len(ns)-6:]
	crdName := "gadgets" + suffix + ".converge.test"
	crd := func(column string) string {
		columns := ""
		if column != "" {
			columns = `    additionalPrinterColumns: [{name: ` + column + `, type: string, jsonPath: .spec.size}]
`
		}
		return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ` + crdName + `}
spec:
  group: converge.test
  names: {kind: Gadget` + strings.ToUpper(suffix) + `, plural: gadgets` + suffix + `, singular: gadget` + suffix + `}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
` + columns + `    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
	}
	chart := writeChart(t, "gadgets", map[string]string{
		"templates/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
		"templates/gadget.yaml": "apiVersion: converge.test/v1\nkind: Gadget" + strings.ToUpper(suffix) + "\nmetadata: {name: g}\nspec: {size: big}\n",
		"crds/gadgets.yaml":     crd("Size"),
	})
	t.Cleanup(func() { env.Command(t, "kubectl", "delete", "crd", crdName, "--ignore-not-found").Run() })
	// Discovery cached for the cluster's address before the CRD exists, and the CRD created
	// through another address (another kubeconfig, another tool): the unchanged CRD's kind
	// must still be known to the next converge.
	home := t.TempDir()
	env.Command(t, "kubectl", "api-resources", "-o", "name").Env("HOME", home).Succeed()
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) { next.ServeHTTP(w, r) })
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Env("KUBECONFIG", proxy.Kubeconfig).Succeed()
	converge := func(want string, flags ...string) {
		t.Helper()
		res := env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns, "--progress", "plain"}, flags...)...).Env("HOME", home).Succeed()
		if !strings.Contains(res.Stderr, want+crdName) {
			t.Fatalf("want %q%s in the output:\n%s", want, crdName, res.Stderr)
		}
	}
	version := func() string {
		return env.Kubectl(t, "get", "crd", crdName, "-o", "jsonpath={.metadata.resourceVersion}")
	}
	column := func() string {
		return env.Kubectl(t, "get", "crd", crdName, "-o", "jsonpath={.spec.versions[0].additionalPrinterColumns[0].name}")
	}

	converge("unchanged CRDs: ")
	before := version()
	converge("unchanged CRDs: ")
	if after := version(); after != before {
		t.Fatalf("the unchanged CRD was written: resourceVersion %s, then %s", before, after)
	}

	// Created, not applied, the first time: a field the chart then drops still goes.
	writeFile(t, filepath.Join(chart, "crds", "gadgets.yaml"), crd(""))
	converge("applied CRDs: ")
	if got := column(); got != "" {
		t.Fatalf("printer column %q after the chart dropped it, want none", got)
	}
	writeFile(t, filepath.Join(chart, "crds", "gadgets.yaml"), crd("Size"))
	converge("applied CRDs: ")

	env.Kubectl(t, "patch", "crd", crdName, "--type", "json", "-p",
		`[{"op": "replace", "path": "/spec/versions/0/additionalPrinterColumns/0/name", "value": "Manual"}]`)
	converge("applied CRDs: ")
	if got := column(); got != "Size" {
		t.Fatalf("printer column %q after converging over a manual change, want Size", got)
	}
	converge("unchanged CRDs: ")

	writeFile(t, filepath.Join(chart, "crds", "gadgets.yaml"), crd("Weight"))
	converge("applied CRDs: ")
	if got := column(); got != "Weight" {
		t.Fatalf("printer column %q after the chart changed it, want Weight", got)
	}

	// The same file with other global annotations is another CRD to apply.
	converge("applied CRDs: ", "--add-annotation", "team=gadgets")
	if got := env.Kubectl(t, "get", "crd", crdName, "-o", "jsonpath={.metadata.annotations.team}"); got != "gadgets" {
		t.Fatalf("annotation team=%q after --add-annotation team=gadgets, want gadgets", got)
	}
	converge("unchanged CRDs: ", "--add-annotation", "team=gadgets")

	// Another manager writes a field of its own (as cert-manager injects a webhook's
	// caBundle): the chart's CRD is still as applied, for the deploy and the plan alike.
	env.Kubectl(t, "annotate", "crd", crdName, "other.example.com/injected=yes")
	converge("unchanged CRDs: ", "--add-annotation", "team=gadgets")
	converge("unchanged CRDs: ", "--add-annotation", "team=gadgets")
	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--exit-code", "--add-annotation", "team=gadgets").Env("HOME", home).Run()
	if plan.ExitCode != 0 {
		t.Fatalf("plan --exit-code after another manager's annotation: exit %d, want 0 (nothing to change)\n%s\n%s", plan.ExitCode, plan.Stdout, plan.Stderr)
	}
}

// TestNewObjectsCostOneWrite: an object new in the release is created with one request and
// read only by Helm's own check for objects in the way (once), on a first install and when an
// upgrade adds it; an object an upgrade changes is read once and patched once; an object in
// the way is still read, and refused when it is another's.
func TestNewObjectsCostOneWrite(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	var mu sync.Mutex
	requests := map[string]int{}
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/configmaps") {
			name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			if r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				name = "POST"
				if !bytes.Contains(body, []byte(`"fresh-`)) {
					name = "other"
				}
			}
			if strings.HasPrefix(name, "fresh-") || name == "POST" {
				mu.Lock()
				requests[r.Method+" "+name]++
				mu.Unlock()
			}
		}
		next.ServeHTTP(w, r)
	})
	take := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := requests
		requests = map[string]int{}
		return out
	}
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {a: b}\n"
	}
	chart := writeChart(t, "fresh", map[string]string{"templates/a.yaml": cm("fresh-a"), "templates/b.yaml": cm("fresh-b")})
	converge := func() harness.Result {
		return env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Env("KUBECONFIG", proxy.Kubeconfig).Run()
	}
	if res := converge(); res.ExitCode != 0 {
		t.Fatalf("install: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := take(); got["POST POST"] != 2 || got["GET fresh-a"] != 1 || got["GET fresh-b"] != 1 {
		t.Fatalf("install: ConfigMap requests %v, want 2 creates and one read of each (Helm's check)", got)
	}
	writeFile(t, filepath.Join(chart, "templates", "c.yaml"), cm("fresh-c"))
	if res := converge(); res.ExitCode != 0 {
		t.Fatalf("upgrade: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := take(); got["POST POST"] != 1 || got["GET fresh-c"] != 1 {
		t.Fatalf("upgrade adding fresh-c: ConfigMap requests %v, want one create and one read of fresh-c (Helm's check)", got)
	}
	writeFile(t, filepath.Join(chart, "templates", "a.yaml"), strings.Replace(cm("fresh-a"), "a: b", "a: changed", 1))
	if res := converge(); res.ExitCode != 0 {
		t.Fatalf("upgrade changing fresh-a: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := take(); got["GET fresh-a"] != 1 || got["PATCH fresh-a"] != 1 || got["GET fresh-b"] != 1 || got["PATCH fresh-b"] != 0 || got["POST POST"] != 0 {
		t.Fatalf("upgrade changing fresh-a: ConfigMap requests %v, want one read and one patch of fresh-a, one read of the unchanged fresh-b", got)
	}
	env.Kubectl(t, "-n", ns, "create", "configmap", "fresh-d")
	writeFile(t, filepath.Join(chart, "templates", "d.yaml"), cm("fresh-d"))
	res := converge()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "fresh-d") {
		t.Fatalf("upgrade over a ConfigMap made with kubectl: exit %d, want a refusal naming it\n%s", res.ExitCode, res.Stderr)
	}
	if got := env.Kubectl(t, "-n", ns, "get", "configmap", "fresh-d", "-o", "jsonpath={.data}"); got != "" {
		t.Fatalf("the ConfigMap made with kubectl was changed: data %s", got)
	}
}

// TestRBACHooksOfOneWeightAreCreatedTogether: the five RBAC hooks of an admission-webhook
// chain (ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding), of one weight
// and events, are created in two steps, where Helm creates each after the previous one's
// round (delete, wait, store the revision, create, wait): the account and the roles
// together, then the two bindings together once the roles exist (the API server looks a
// binding's role up for a deployer that may not escalate). The proxy holds each create of a
// step until all of the step have arrived, so they are in flight at once (one by one, the
// first create would wait until converge's --timeout and the deploy fail), and the release's
// storage is written only after both steps; the hook of the next weight comes after, in its
// own turn. On install and re-apply, pre and post hooks.
func TestRBACHooksOfOneWeightAreCreatedTogether(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	kinds := []string{"serviceaccounts", "clusterroles", "clusterrolebindings", "roles", "rolebindings"}
	bindings := []string{"clusterrolebindings", "rolebindings"}
	var mu sync.Mutex
	var log []string
	// arrived counts the creates of each step (the bindings' or the others'), all is closed
	// when a step's last one arrives.
	arrived := map[bool]int{}
	all := map[bool]chan struct{}{false: make(chan struct{}), true: make(chan struct{})}
	proxy := harness.NewAPIProxy(t, env.Kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		path := r.URL.Path
		resource := path[strings.LastIndex(path, "/")+1:]
		switch {
		case r.Method == http.MethodPost && slices.Contains(kinds, resource):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !bytes.Contains(body, []byte(`"batch-`+ns)) {
				break
			}
			binding := slices.Contains(bindings, resource)
			mu.Lock()
			log = append(log, "create "+resource)
			arrived[binding]++
			wait := all[binding]
			if step := map[bool]int{false: len(kinds) - len(bindings), true: len(bindings)}[binding]; arrived[binding]%step == 0 {
				close(all[binding])
				all[binding] = make(chan struct{})
			}
			mu.Unlock()
			select {
			case <-wait:
			case <-r.Context().Done():
			}
			next.ServeHTTP(w, r)
			mu.Lock()
			log = append(log, "created "+resource)
			mu.Unlock()
			return
		case r.Method == http.MethodPost && strings.HasSuffix(path, "/configmaps") && strings.Contains(path, "/namespaces/"+ns+"/"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"next-weight"`)) {
				mu.Lock()
				log = append(log, "create next-weight")
				mu.Unlock()
			}
		case r.Method != http.MethodGet && strings.Contains(path, "/namespaces/"+ns+"/secrets/sh.helm.release."):
			mu.Lock()
			log = append(log, "store the revision")
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	t.Cleanup(func() {
		env.Kubectl(t, "delete", "clusterrole,clusterrolebinding", "batch-"+ns, "--ignore-not-found")
	})
	hook := func(kind, apiVersion, extra string) string {
		return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: batch-%s\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade,post-install,post-upgrade\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n%s", apiVersion, kind, ns, extra)
	}
	rules := "rules: [{apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, update]}]\n"
	binding := func(role string) string {
		return fmt.Sprintf("roleRef: {apiGroup: rbac.authorization.k8s.io, kind: %s, name: batch-%s}\nsubjects: [{kind: ServiceAccount, name: batch-%s, namespace: %s}]\n", role, ns, ns, ns)
	}
	chart := writeChart(t, "batch", map[string]string{
		"templates/sa.yaml":   hook("ServiceAccount", "v1", ""),
		"templates/cr.yaml":   hook("ClusterRole", "rbac.authorization.k8s.io/v1", rules),
		"templates/crb.yaml":  hook("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", binding("ClusterRole")),
		"templates/role.yaml": hook("Role", "rbac.authorization.k8s.io/v1", "rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get, create]}]\n"),
		"templates/rb.yaml":   hook("RoleBinding", "rbac.authorization.k8s.io/v1", binding("Role")),
		"templates/next.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: next-weight\n  annotations: {helm.sh/hook: \"pre-install,pre-upgrade,post-install,post-upgrade\", helm.sh/hook-weight: \"1\"}\n",
		"templates/app.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n",
	})
	for _, run := range []string{"install", "re-apply"} {
		res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--progress", "plain").Env("KUBECONFIG", proxy.Kubeconfig).Run()
		if res.ExitCode != 0 {
			t.Fatalf("%s: exit %d\n%s", run, res.ExitCode, res.Stderr)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	turns, inTurn, next := 0, 0, 0
	created := map[bool]int{}
	for i, entry := range log {
		verb, resource, _ := strings.Cut(entry, " ")
		binding := slices.Contains(bindings, resource)
		switch {
		case verb == "created" && slices.Contains(kinds, resource):
			created[binding]++
		case verb == "create" && slices.Contains(kinds, resource):
			if binding && created[false] < len(kinds)-len(bindings) {
				t.Fatalf("a binding created before the account and roles of its turn exist (entry %d):\n%s", i, strings.Join(log, "\n"))
			}
			inTurn++
			if inTurn == len(kinds) {
				turns, inTurn = turns+1, 0
				created = map[bool]int{}
			}
		case inTurn > 0:
			t.Fatalf("%q between the creates of one turn (entry %d):\n%s", entry, i, strings.Join(log, "\n"))
		case entry == "create next-weight":
			if next++; next > turns {
				t.Fatalf("the hook of weight 1 created before the turn of weight 0 (entry %d):\n%s", i, strings.Join(log, "\n"))
			}
		}
	}
	// install and re-apply, pre and post hooks each
	if turns != 4 || next != 4 {
		t.Fatalf("%d turns of five RBAC hooks created in two steps and %d hooks of weight 1, want 4 each:\n%s", turns, next, strings.Join(log, "\n"))
	}
}
