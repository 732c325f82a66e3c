package helmsdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/redact"
)

// crdFieldManager owns the CRD fields we apply; fields others set (a conversion webhook's
// caBundle injected by cert-manager, say) stay theirs.
const crdFieldManager = "kubectl-converge"

// CRDAppliedDigestAnnotation records on a CRD the digest of what converge last applied to it,
// so that a later run leaves an unchanged CRD alone (applying hundreds of KB of schema
// costs the API server seconds, and waiting for Established more).
const CRDAppliedDigestAnnotation = "kubectl-converge.io/applied-digest"

// CRDsResult names the chart's CRDs by what ApplyCRDs did to them.
type CRDsResult struct {
	Applied   []string
	Unchanged []string
}

// ApplyCRDs creates or updates the CRDs of the chart's crds/ directories (subcharts too) with
// server-side apply and waits until those it applied are established. Helm only creates them
// on a first install and never updates them; CRDs are never deleted here. A CRD is left
// alone when it carries the digest of exactly what would be applied and nobody changed it
// since (see unchangedSinceApplied).
func (c *Client) ApplyCRDs(ctx context.Context, ch *charts.Chart) (CRDsResult, error) {
	var res CRDsResult
	all, err := c.crdsToApply(ch)
	if err != nil || len(all) == 0 {
		return res, err
	}
	live := c.liveCRDMetadata(ctx, len(all), func(i int) string { return all[i].info.Name })
	var established []*resource.Info
	for i, p := range all {
		if m := live[i]; m != nil && m.GetAnnotations()[CRDAppliedDigestAnnotation] == p.digest && unchangedSinceApplied(m) {
			res.Unchanged = append(res.Unchanged, p.info.Name)
			continue
		}
		force := true
		helper := resource.NewHelper(p.info.Client, p.info.Mapping).WithFieldManager(crdFieldManager)
		if _, err := helper.Patch(p.info.Namespace, p.info.Name, types.ApplyPatchType, p.data, &metav1.PatchOptions{Force: &force}); err != nil {
			return res, fmt.Errorf("apply CRD %q from %s: %w", p.info.Name, p.file, err)
		}
		res.Applied = append(res.Applied, p.info.Name)
		established = append(established, p.info)
	}
	served := c.freshDiscovery()
	for _, info := range established {
		if err := waitEstablished(ctx, info, served); err != nil {
			return res, err
		}
	}
	// Forgotten even when nothing was applied: discovery cached before an unchanged CRD was
	// created (by another command or tool) must not make its objects unknown kinds, and
	// rediscovery is two requests.
	c.forgetAPIResources()
	return res, nil
}

// pendingCRD is one CRD of the chart as ApplyCRDs applies it: the object with its
// applied-digest annotation, the file it came from, the JSON sent, and its digest.
type pendingCRD struct {
	info   *resource.Info
	file   string
	data   []byte
	digest string
}

// crdsToApply builds the CRDs of the chart's crds/ directories (subcharts too), each
// annotated with the digest of its content.
func (c *Client) crdsToApply(ch *charts.Chart) ([]pendingCRD, error) {
	var all []pendingCRD
	for _, crd := range ch.Helm().CRDObjects() {
		infos, err := c.cfg.KubeClient.Build(bytes.NewReader(crd.File.Data), false)
		if err != nil {
			return nil, fmt.Errorf("read CRD file %s: %w", crd.Filename, err)
		}
		for _, info := range infos {
			data, err := json.Marshal(info.Object)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(data)
			digest := hex.EncodeToString(sum[:])
			obj, err := meta.Accessor(info.Object)
			if err != nil {
				return nil, fmt.Errorf("read CRD %q from %s: %w", info.Name, crd.Filename, err)
			}
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[CRDAppliedDigestAnnotation] = digest
			obj.SetAnnotations(annotations)
			if data, err = json.Marshal(info.Object); err != nil {
				return nil, err
			}
			all = append(all, pendingCRD{info: info, file: crd.Filename, data: data, digest: digest})
		}
	}
	return all, nil
}

// CRDManifests are the files of the chart's crds/ directories (subcharts too), as one
// stream of YAML documents.
func CRDManifests(ch *charts.Chart) string {
	var files []string
	for _, crd := range ch.Helm().CRDObjects() {
		files = append(files, "# Source: "+crd.Filename+"\n"+string(crd.File.Data))
	}
	return strings.Join(files, "\n---\n")
}

// CRDPlan is what ApplyCRDs would do to one CRD of the chart.
type CRDPlan struct {
	// Object is the CRD as it would be applied.
	Object *resource.Info
	// File is the chart file it comes from.
	File string
	// Live is the CRD in the cluster; nil when it would be created.
	Live *unstructured.Unstructured
	// Unchanged says ApplyCRDs leaves it alone: it carries the digest of exactly what would
	// be applied and nobody changed it since.
	Unchanged bool
	// Desired is the CRD as the API server would store it (a server-side dry run of the
	// apply); the rendered object when unchanged or when the dry run cannot be made.
	Desired *unstructured.Unstructured
}

// PlanCRDs says what ApplyCRDs would do to each CRD of the chart, changing nothing.
func (c *Client) PlanCRDs(ctx context.Context, ch *charts.Chart) ([]CRDPlan, error) {
	all, err := c.crdsToApply(ch)
	if err != nil {
		return nil, err
	}
	out := make([]CRDPlan, 0, len(all))
	for _, p := range all {
		rendered, ok := p.info.Object.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("read CRD %q from %s: unexpected object type %T", p.info.Name, p.file, p.info.Object)
		}
		plan := CRDPlan{Object: p.info, File: p.file, Desired: rendered}
		if plan.Live, err = Live(p.info); err != nil {
			return nil, fmt.Errorf("read CRD %q: %w", p.info.Name, err)
		}
		if plan.Live != nil {
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: plan.Live.GetManagedFields(), DeletionTimestamp: plan.Live.GetDeletionTimestamp()}}
			plan.Unchanged = plan.Live.GetAnnotations()[CRDAppliedDigestAnnotation] == p.digest && unchangedSinceApplied(m)
		}
		if !plan.Unchanged {
			force := true
			helper := resource.NewHelper(p.info.Client, p.info.Mapping).WithFieldManager(crdFieldManager).DryRun(true)
			if obj, err := helper.Patch(p.info.Namespace, p.info.Name, types.ApplyPatchType, p.data, &metav1.PatchOptions{Force: &force}); err == nil {
				if u, ok := obj.(*unstructured.Unstructured); ok {
					plan.Desired = u
				}
			}
		}
		out = append(out, plan)
	}
	return out, nil
}

// liveCRDMetadata reads the metadata (no schema) of the CRDs named by name(0..n-1), a few at
// a time; a CRD that is absent or cannot be read is nil, and is then applied.
func (c *Client) liveCRDMetadata(ctx context.Context, n int, name func(int) string) []*metav1.PartialObjectMetadata {
	out := make([]*metav1.PartialObjectMetadata, n)
	cfg, err := c.getter.ToRESTConfig()
	if err != nil {
		return out
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return out
	}
	crds := client.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	var wg sync.WaitGroup
	limiter := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		redact.Go(func() {
			defer wg.Done()
			limiter <- struct{}{}
			defer func() { <-limiter }()
			if m, err := crds.Get(ctx, name(i), metav1.GetOptions{}); err == nil {
				out[i] = m
			}
		})
	}
	wg.Wait()
	return out
}

// unchangedSinceApplied reports whether nobody but the API server's own status writers
// changed the CRD since converge last applied it: its managed fields show converge's apply,
// and no other manager wrote the object (not its status) at or after that time. A CRD
// being deleted is never unchanged.
func unchangedSinceApplied(m *metav1.PartialObjectMetadata) bool {
	if m.DeletionTimestamp != nil {
		return false
	}
	var ours *metav1.Time
	for _, f := range m.ManagedFields {
		if f.Manager == crdFieldManager && f.Operation == metav1.ManagedFieldsOperationApply && f.Subresource == "" {
			ours = f.Time
		}
	}
	if ours == nil {
		return false
	}
	for _, f := range m.ManagedFields {
		if f.Subresource != "" || (f.Manager == crdFieldManager && f.Operation == metav1.ManagedFieldsOperationApply) {
			continue
		}
		if f.Time == nil || !f.Time.Before(ours) {
			return false
		}
	}
	return true
}

func waitEstablished(ctx context.Context, info *resource.Info, served discovery.DiscoveryInterface) error {
	helper := resource.NewHelper(info.Client, info.Mapping)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		obj, err := helper.Get("", info.Name)
		if err != nil {
			return false, nil
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return discoveryServes(served, u), nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %q is not established after applying it: %w", info.Name, err)
	}
	return nil
}

// discoveryServes reports whether the API server's discovery lists the CRD's kind in every
// version it serves. Established comes first: the discovery documents follow a moment later,
// and objects of the kind built before that are "no matches for kind".
func discoveryServes(served discovery.DiscoveryInterface, crd *unstructured.Unstructured) bool {
	if served == nil {
		return true
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		version, _ := v.(map[string]any)
		if on, _ := version["served"].(bool); !on {
			continue
		}
		name, _ := version["name"].(string)
		list, err := served.ServerResourcesForGroupVersion(group + "/" + name)
		if err != nil {
			return false
		}
		if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Kind == kind }) {
			return false
		}
	}
	return true
}

// freshDiscovery asks the API server directly, never a cache; nil when no client can be made
// (the CRDs are then taken as served once established).
func (c *Client) freshDiscovery() discovery.DiscoveryInterface {
	cfg, err := c.getter.ToRESTConfig()
	if err != nil {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil
	}
	return dc
}

// forgetAPIResources drops the cached discovery, so that objects of new CRDs can be built.
func (c *Client) forgetAPIResources() {
	if dc, err := c.getter.ToDiscoveryClient(); err == nil {
		dc.Invalidate()
	}
	if mapper, err := c.getter.ToRESTMapper(); err == nil {
		if r, ok := mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
	}
}
