package inputs

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// objectChecker rejects rendered objects that Helm or the API server would only reject in the
// middle of a deploy, after a revision was recorded and part of the release applied: objects
// without apiVersion, kind or name, names the API server refuses, and one object defined
// twice. It sees the whole rendered stream once per render.
type objectChecker struct {
	// seen maps an object's identity to the chart file that defined it first.
	seen map[string]string
}

func newObjectChecker() *objectChecker { return &objectChecker{seen: map[string]string{}} }

// dnsSubdomainKinds are the built-in kinds whose names the API server validates as DNS-1123
// subdomains; other kinds (RBAC roles, custom resources) accept more.
var dnsSubdomainKinds = map[string]bool{
	"ConfigMap": true, "Secret": true, "ServiceAccount": true, "PersistentVolumeClaim": true,
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "CronJob": true, "Ingress": true, "Pod": true, "HorizontalPodAutoscaler": true,
	"PodDisruptionBudget": true, "NetworkPolicy": true, "CustomResourceDefinition": true,
}

// dnsLabelKinds are named by DNS labels: a Service name becomes a DNS name, a Namespace name
// a path segment of every object in it.
var dnsLabelKinds = map[string]func(string) []string{
	"Service":   validation.IsDNS1035Label,
	"Namespace": validation.IsDNS1123Label,
}

func (c *objectChecker) check(o *manifest.Object) error {
	if o.Root == nil {
		return nil
	}
	source := o.Source()
	if source == "" {
		source = "the rendered manifest"
	}
	apiVersion := manifest.Lookup(o.Root, "apiVersion")
	kind, name := o.Kind(), o.Name()
	switch {
	case apiVersion == nil || apiVersion.Value == "":
		return fmt.Errorf("%s: an object has no apiVersion: every object needs apiVersion, kind and metadata.name", source)
	case kind == "":
		return fmt.Errorf("%s: an object has no kind: every object needs apiVersion, kind and metadata.name", source)
	case name == "":
		return fmt.Errorf("%s: %s has no metadata.name: every object needs apiVersion, kind and metadata.name", source, kind)
	}
	var problems []string
	if validate := dnsLabelKinds[kind]; validate != nil {
		problems = validate(name)
	} else if dnsSubdomainKinds[kind] {
		problems = validation.IsDNS1123Subdomain(name)
	} else if strings.ContainsAny(name, "/%") || name == "." || name == ".." {
		problems = []string{`may not be "." or ".." and may not contain "/" or "%"`}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s name %q is invalid: %s", source, kind, name, strings.Join(problems, "; "))
	}
	group, _, _ := strings.Cut(apiVersion.Value, "/")
	if !strings.Contains(apiVersion.Value, "/") {
		group = ""
	}
	namespace := ""
	if md := manifest.Lookup(o.Root, "metadata"); md != nil {
		if ns := manifest.Lookup(md, "namespace"); ns != nil {
			namespace = ns.Value
		}
	}
	id := group + "/" + kind + "/" + namespace + "/" + name
	if first, dup := c.seen[id]; dup {
		if first == source {
			return fmt.Errorf("%s: defines %s %q twice: remove one of them", source, kind, name)
		}
		return fmt.Errorf("%s and %s both define %s %q: remove one of them", first, source, kind, name)
	}
	c.seen[id] = source
	return nil
}
