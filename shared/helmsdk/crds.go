package helmsdk

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/redact"
)

// crdFieldManager owns the CRD fields we apply; fields others set (a conversion webhook's
// caBundle injected by cert-manager, say) stay theirs.
const crdFieldManager = "kubectl-converge"

// CRDAppliedDigestAnnotation records on a CRD the digest of what converge last applied to it
// (its document in the chart and the settings of the transform), so that a later run leaves
// an unchanged CRD alone without even parsing it (applying hundreds of KB of schema costs the
// API server seconds, and waiting for Established more; parsing it costs this process
// tenths of a second).
const CRDAppliedDigestAnnotation = "kubectl-converge.io/applied-digest"

// CRDsResult names the chart's CRDs by what ApplyCRDs did to them.
type CRDsResult struct {
	Applied   []string
	Unchanged []string
}

// ApplyCRDs creates the CRDs of the chart's crds/ directories (subcharts too) that are not
// there and server-side applies those that are, all at once, then waits until the API server
// serves all it wrote (one wait for all). Helm only creates them
// on a first install and never updates them; CRDs are never deleted here. A CRD is left
// alone when it carries the digest of exactly what would be applied and nobody changed it
// since (see unchangedSinceApplied).
func (c *Client) ApplyCRDs(ctx context.Context, ch *charts.Chart) (CRDsResult, error) {
	return c.ApplyCRDsAfter(ctx, ch, nil)
}

// ApplyCRDsAfter is ApplyCRDs that reads the chart's CRDs and the live ones, then runs check
// (a render of the whole chart, given the API versions the CRDs serve, say) and writes
// nothing unless check returns nil; check's error is returned as is. A nil check writes at
// once. Only the documents of CRDs to write are parsed: an unchanged one is found by its
// document's digest among the live CRDs, and its API versions are the ones discovery serves.
func (c *Client) ApplyCRDsAfter(ctx context.Context, ch *charts.Chart, check func(crdAPIVersions []string) error) (CRDsResult, error) {
	var res CRDsResult
	docs := c.crdDocuments(ch)
	if len(docs) == 0 {
		return res, runCheck(check, nil)
	}
	live, listed := c.liveCRDs(ctx)
	var unchanged []*metav1.PartialObjectMetadata
	var toParse []int
	for i, d := range docs {
		if m := live.byDigest[d.digest]; crdUnchanged(m, d.digest) {
			unchanged = append(unchanged, m)
			continue
		}
		toParse = append(toParse, i)
	}
	served, unknown := c.servedAPIVersions(unchanged)
	// unlisted are the documents of unchanged CRDs discovery does not list.
	unlisted := map[int]bool{}
	for _, m := range unknown {
		// Not in discovery (yet): its document is parsed for its API versions, and applied.
		for i, d := range docs {
			if d.digest == m.GetAnnotations()[CRDAppliedDigestAnnotation] && !unlisted[i] {
				unlisted[i] = true
				toParse = append(toParse, i)
			}
		}
	}
	for _, m := range unchanged {
		if !slices.Contains(unknown, m) {
			res.Unchanged = append(res.Unchanged, m.Name)
		}
	}
	parsed, errs := c.parseCRDDocuments(docs, toParse)
	var all []pendingCRD
	var digests []string // by CRD of all: its document's digest
	apiVersions := served
	for i := range docs {
		apiVersions = append(apiVersions, crdAPIVersions(parsed[i])...)
		if unlisted[i] && errs[i] == nil && !slices.ContainsFunc(parsed[i], servesAVersion) {
			// Discovery never lists a CRD that serves no version: it is unchanged, as
			// PlanCRDs says, not applied again on every run.
			for _, p := range parsed[i] {
				res.Unchanged = append(res.Unchanged, p.info.Name)
			}
			continue
		}
		all = append(all, parsed[i]...)
		for range parsed[i] {
			digests = append(digests, docs[i].digest)
		}
	}
	if err := runCheck(check, apiVersions); err != nil {
		return CRDsResult{}, err
	}
	if err := cmp.Or(errs...); err != nil {
		return CRDsResult{}, err
	}
	if len(all) == 0 {
		c.forgetAPIResources()
		return res, nil
	}
	// liveVersions are the resourceVersions of the live CRDs, "" for those not there.
	liveVersions := make([]string, len(all))
	if listed {
		for i, p := range all {
			liveVersions[i] = live.byName[p.info.Name]
		}
	} else {
		// Not listed: each CRD's own metadata says whether it is unchanged, as PlanCRDs reads
		// it (else every CRD was applied again on every run).
		var kept []pendingCRD
		liveVersions = liveVersions[:0]
		for i, m := range c.liveCRDMetadata(ctx, len(all), func(i int) string { return all[i].info.Name }) {
			if crdUnchanged(m, digests[i]) {
				res.Unchanged = append(res.Unchanged, all[i].info.Name)
				continue
			}
			kept = append(kept, all[i])
			version := ""
			if m != nil {
				version = m.ResourceVersion
			}
			liveVersions = append(liveVersions, version)
		}
		all = kept
	}
	// All at once, as helm creates them: the API server works on them together.
	writeErrs := make([]error, len(all))
	changed := make([]bool, len(all))
	var wg sync.WaitGroup
	for i, p := range all {
		wg.Add(1)
		redact.Go(func() {
			defer wg.Done()
			changed[i], writeErrs[i] = writeCRD(p.info, p.data, liveVersions[i])
			if writeErrs[i] != nil {
				writeErrs[i] = fmt.Errorf("%w (from %s)", writeErrs[i], p.file)
			}
		})
	}
	wg.Wait()
	var written []*resource.Info
	for i, p := range all {
		if writeErrs[i] != nil {
			return res, writeErrs[i]
		}
		if !changed[i] {
			// Applied as it was (another manager wrote fields of its own since, a webhook's
			// caBundle, say): unchanged, as the plan's empty diff says.
			res.Unchanged = append(res.Unchanged, p.info.Name)
			continue
		}
		res.Applied = append(res.Applied, p.info.Name)
		written = append(written, p.info)
	}
	if err := c.awaitServed(ctx, written); err != nil {
		return res, err
	}
	// Forgotten even when nothing was applied: discovery cached before an unchanged CRD was
	// created (by another command or tool) must not make its objects unknown kinds, and
	// rediscovery is two requests.
	c.forgetAPIResources()
	return res, nil
}

// runCheck runs check, if any.
func runCheck(check func([]string) error, apiVersions []string) error {
	if check == nil {
		return nil
	}
	return check(apiVersions)
}

// crdUnchanged is the one decision, for ApplyCRDs and PlanCRDs alike, that a CRD is left
// alone: the live one (nil: absent) carries the digest of the chart's document and nobody
// changed it since converge applied it.
func crdUnchanged(live *metav1.PartialObjectMetadata, digest string) bool {
	return live != nil && digest != "" && live.GetAnnotations()[CRDAppliedDigestAnnotation] == digest && unchangedSinceApplied(live)
}

// crdDocument is one YAML document of a crds/ file, as Helm splits them, unparsed.
type crdDocument struct {
	file string
	text []byte
	// digest is of text and the transform's settings; "" when the transform has none to
	// tell (the CRD is then always applied).
	digest string
}

// crdDocuments splits the chart's CRD files (subcharts too) into their documents as Helm
// does (a line of "---"), without parsing them.
func (c *Client) crdDocuments(ch *charts.Chart) []crdDocument {
	var out []crdDocument
	for _, crd := range ch.Helm().CRDObjects() {
		out = append(out, c.crdDocumentsOf(crd.Filename, crd.File.Data)...)
	}
	return out
}

func (c *Client) crdDocumentsOf(file string, data []byte) []crdDocument {
	var out []crdDocument
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		text, err := reader.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// Not split: the parse of the whole file says what is wrong with it.
				return []crdDocument{{file: file, text: data}}
			}
			return out
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		doc := crdDocument{file: file, text: text}
		if c.transform == nil || c.transformKey != "" {
			sum := sha256.Sum256([]byte(c.transformKey + "\x00" + string(text)))
			doc.digest = hex.EncodeToString(sum[:])
		}
		out = append(out, doc)
	}
}

// liveCRDSet is what one list of the live CRDs' metadata says.
type liveCRDSet struct {
	byName   map[string]string // resourceVersions
	byDigest map[string]*metav1.PartialObjectMetadata
}

// liveCRDs lists the metadata (no schemas) of the cluster's CRDs; listed is false when they
// cannot be listed (a deployer allowed to read only some CRDs by name).
func (c *Client) liveCRDs(ctx context.Context) (set liveCRDSet, listed bool) {
	set = liveCRDSet{byName: map[string]string{}, byDigest: map[string]*metav1.PartialObjectMetadata{}}
	client, err := c.crdMetadataClient()
	if err != nil {
		return set, false
	}
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return set, false
	}
	for i := range list.Items {
		m := &list.Items[i]
		set.byName[m.Name] = m.ResourceVersion
		if d := m.GetAnnotations()[CRDAppliedDigestAnnotation]; d != "" {
			set.byDigest[d] = m
		}
	}
	return set, true
}

// servedAPIVersions are the API versions ("group/version" and "group/version/Kind")
// discovery serves for the CRDs crds (a CRD's name is its plural and group); unknown are
// those discovery does not list (discovery is read again once for them).
func (c *Client) servedAPIVersions(crds []*metav1.PartialObjectMetadata) (apiVersions []string, unknown []*metav1.PartialObjectMetadata) {
	if len(crds) == 0 {
		return nil, nil
	}
	dc, err := c.getter.ToDiscoveryClient()
	if err != nil {
		return nil, crds
	}
	find := func() (map[string][]string, error) {
		_, lists, err := dc.ServerGroupsAndResources()
		if err != nil && len(lists) == 0 {
			return nil, err
		}
		byCRD := map[string][]string{}
		for _, list := range lists {
			gv, err := schema.ParseGroupVersion(list.GroupVersion)
			if err != nil {
				continue
			}
			for _, r := range list.APIResources {
				if !strings.Contains(r.Name, "/") {
					byCRD[r.Name+"."+gv.Group] = append(byCRD[r.Name+"."+gv.Group], list.GroupVersion, list.GroupVersion+"/"+r.Kind)
				}
			}
		}
		return byCRD, nil
	}
	byCRD, err := find()
	missing := func() bool {
		return err != nil || slices.ContainsFunc(crds, func(m *metav1.PartialObjectMetadata) bool { return byCRD[m.Name] == nil })
	}
	if missing() {
		dc.Invalidate()
		byCRD, err = find()
	}
	for _, m := range crds {
		if versions := byCRD[m.Name]; versions != nil {
			apiVersions = append(apiVersions, versions...)
		} else {
			unknown = append(unknown, m)
		}
	}
	return apiVersions, unknown
}

// crdAPIVersions are the API versions ("group/version" and "group/version/Kind") of every
// version of the parsed CRDs, served or not, as in the chart.
func crdAPIVersions(parsed []pendingCRD) []string {
	var out []string
	for _, p := range parsed {
		u, ok := p.info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
		for _, v := range versions {
			version, _ := v.(map[string]any)
			name, _ := version["name"].(string)
			out = append(out, group+"/"+name, group+"/"+name+"/"+kind)
		}
	}
	return out
}

// servesAVersion reports whether the parsed CRD serves any of its versions.
func servesAVersion(p pendingCRD) bool {
	u, ok := p.info.Object.(*unstructured.Unstructured)
	if !ok {
		return true
	}
	versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
	return slices.ContainsFunc(versions, func(v any) bool {
		version, _ := v.(map[string]any)
		served, _ := version["served"].(bool)
		return served
	})
}

// pendingCRD is one CRD of the chart as ApplyCRDs applies it: the object with its
// applied-digest annotation, the file it came from, and the JSON sent.
type pendingCRD struct {
	info *resource.Info
	file string
	data []byte
}

// parseCRDDocuments builds the CRDs of docs[i] for each i of which, in parallel, through the
// transform, each annotated with its document's digest; the results and errors are by
// document.
func (c *Client) parseCRDDocuments(docs []crdDocument, which []int) ([][]pendingCRD, []error) {
	out := make([][]pendingCRD, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	for _, i := range which {
		wg.Add(1)
		redact.Go(func() {
			defer wg.Done()
			out[i], errs[i] = c.parseCRDDocument(docs[i])
		})
	}
	wg.Wait()
	return out, errs
}

func (c *Client) parseCRDDocument(d crdDocument) ([]pendingCRD, error) {
	infos, err := c.cfg.KubeClient.Build(bytes.NewReader(d.text), false)
	if err != nil {
		return nil, fmt.Errorf("read CRD file %s: %w", d.file, err)
	}
	var out []pendingCRD
	for _, info := range infos {
		obj, err := meta.Accessor(info.Object)
		if err != nil {
			return nil, fmt.Errorf("read CRD %q from %s: %w", info.Name, d.file, err)
		}
		if d.digest != "" {
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[CRDAppliedDigestAnnotation] = d.digest
			obj.SetAnnotations(annotations)
		}
		data, err := json.Marshal(info.Object)
		if err != nil {
			return nil, err
		}
		out = append(out, pendingCRD{info: info, file: d.file, data: data})
	}
	return out, nil
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
	docs := c.crdDocuments(ch)
	all := make([]int, len(docs))
	for i := range docs {
		all[i] = i
	}
	parsed, errs := c.parseCRDDocuments(docs, all)
	var out []CRDPlan
	for i, d := range docs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, p := range parsed[i] {
			rendered, ok := p.info.Object.(*unstructured.Unstructured)
			if !ok {
				return nil, fmt.Errorf("read CRD %q from %s: unexpected object type %T", p.info.Name, p.file, p.info.Object)
			}
			plan := CRDPlan{Object: p.info, File: p.file, Desired: rendered}
			var err error
			if plan.Live, err = Live(p.info); err != nil {
				return nil, fmt.Errorf("read CRD %q: %w", p.info.Name, err)
			}
			if plan.Live != nil {
				m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Annotations: plan.Live.GetAnnotations(), ManagedFields: plan.Live.GetManagedFields(), DeletionTimestamp: plan.Live.GetDeletionTimestamp()}}
				plan.Unchanged = crdUnchanged(m, d.digest)
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
	}
	return out, nil
}

// writeCRD creates a CRD that is not there (liveVersion "": a create costs the API server
// about half of a server-side apply of the same large schema) and server-side applies one
// that is, data being the CRD as JSON; changed is false when the apply changed nothing (the
// API server keeps the resourceVersion of a write that changes nothing). The apply removes
// what the chart dropped also from a CRD converge created: the API server counts the
// create's fields as the same manager's.
func writeCRD(info *resource.Info, data []byte, liveVersion string) (changed bool, err error) {
	helper := resource.NewHelper(info.Client, info.Mapping).WithFieldManager(crdFieldManager)
	if liveVersion == "" {
		_, err := helper.Create("", true, info.Object)
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return false, fmt.Errorf("create CRD %q: %w", info.Name, err)
			}
			return true, nil
		}
		// Created meanwhile, or its metadata could not be read: applied over.
	}
	force := true
	obj, err := helper.Patch("", info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &force})
	if err != nil {
		return false, fmt.Errorf("apply CRD %q: %w", info.Name, err)
	}
	m, err := meta.Accessor(obj)
	return err != nil || liveVersion == "" || m.GetResourceVersion() != liveVersion, nil
}

// liveCRDMetadata reads the metadata (no schema) of the CRDs named by name(0..n-1), a few at
// a time; a CRD that is absent or cannot be read is nil (and is then applied).
func (c *Client) liveCRDMetadata(ctx context.Context, n int, name func(int) string) []*metav1.PartialObjectMetadata {
	out := make([]*metav1.PartialObjectMetadata, n)
	crds, err := c.crdMetadataClient()
	if err != nil {
		return out
	}
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

// crdMetadataClient reads the metadata of CRDs, without their schemas.
func (c *Client) crdMetadataClient() (metadata.ResourceInterface, error) {
	cfg, err := c.getter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return client.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}), nil
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
		if f.Manager == crdFieldManager && f.Subresource == "" && (ours == nil || (f.Time != nil && ours.Before(f.Time))) {
			ours = f.Time
		}
	}
	if ours == nil {
		return false
	}
	for _, f := range m.ManagedFields {
		if f.Subresource != "" || f.Manager == crdFieldManager {
			continue
		}
		if f.Time == nil || !f.Time.Before(ours) {
			return false
		}
	}
	return true
}

// awaitServed waits, for a minute at most, until discovery serves the kinds of all the CRDs
// at once (the API server lists a CRD's kind only once it is established), asking
// discovery once per group version and round; a CRD whose names are refused (a conflict
// with another CRD) fails at once, named. Without discovery each CRD is awaited until
// established.
func (c *Client) awaitServed(ctx context.Context, crds []*resource.Info) error {
	if len(crds) == 0 {
		return nil
	}
	// The run's own deadline bounds the wait when it has one: an API server outage right after
	// the CRDs were written (a restart builds every CRD's handlers anew) costs time, not the
	// run; without a deadline a minute is enough for any API server that serves them at all.
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
	}
	defer cancel()
	served := c.freshDiscovery()
	pending := crds
	start, lastRead := time.Now(), time.Time{}
	check := func() (bool, error) {
		round := &roundDiscovery{served: served, lists: map[string]*metav1.APIResourceList{}}
		var still []*resource.Info
		for _, info := range pending {
			u, ok := info.Object.(*unstructured.Unstructured)
			if !ok || served == nil || !discoveryServes(round, u) {
				still = append(still, info)
			}
		}
		pending = still
		if len(pending) == 0 {
			return true, nil
		}
		// Read whole (hundreds of KB each, which the API server serializes while it builds
		// their handlers) only now and then, for a refused name; without discovery, each round.
		if served != nil && (time.Since(start) < crdReadAfter || time.Since(lastRead) < crdReadAfter) {
			return false, nil
		}
		lastRead = time.Now()
		established := make([]bool, len(pending))
		errs := make([]error, len(pending))
		var wg sync.WaitGroup
		for i, info := range pending {
			wg.Add(1)
			redact.Go(func() {
				defer wg.Done()
				established[i], errs[i] = crdEstablished(info)
			})
		}
		wg.Wait()
		still = nil
		for i, info := range pending {
			if errs[i] != nil {
				return false, errs[i]
			}
			if !established[i] || served != nil {
				still = append(still, info)
			}
		}
		pending = still
		return len(pending) == 0, nil
	}
	// Often at first, then twice a second: a large CRD takes seconds to be served, and
	// each round asks discovery once per group version.
	var err error
	for delay := crdPollFirst; ; delay = min(delay*3/2, crdPollMax) {
		var done bool
		if done, err = check(); done || err != nil {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(delay):
		}
		if err != nil {
			break
		}
	}
	if err != nil && len(pending) > 0 {
		names := make([]string, 0, len(pending))
		for _, info := range pending {
			names = append(names, strconv.Quote(info.Name))
		}
		if wait.Interrupted(err) {
			return fmt.Errorf("CRD %s not served by the API server %s after applying: %w", strings.Join(names, ", "), time.Since(start).Round(time.Second), err)
		}
	}
	return err
}

// crdPollFirst and crdPollMax bound the pause between two rounds of awaitServed.
const (
	crdPollFirst = 100 * time.Millisecond
	crdPollMax   = 500 * time.Millisecond
)

// crdReadAfter is how long awaitServed relies on discovery alone before it reads the CRDs
// not yet served, and how often it reads them again.
const crdReadAfter = 5 * time.Second

// crdEstablished reads the CRD: whether it is established, or an error when the API server
// refused its names. A CRD whose names were accepted but that is not established is nudged
// (see nudgeEstablishing).
func crdEstablished(info *resource.Info) (bool, error) {
	helper := resource.NewHelper(info.Client, info.Mapping)
	obj, err := helper.Get("", info.Name)
	if err != nil {
		return false, nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return false, nil
	}
	switch state, cond := crdEstablishing(u); state {
	case crdReady:
		return true, nil
	case crdNamesRefused:
		return false, fmt.Errorf("CRD %q is not established: %v: %v", info.Name, cond["reason"], cond["message"])
	case crdNamesAcceptedNotEstablished:
		nudgeEstablishing(helper, info.Name)
	}
	return false, nil
}

// crdState is where a CRD is on its way to being served.
type crdState int

const (
	crdWaiting crdState = iota
	crdReady
	crdNamesRefused
	// crdNamesAcceptedNotEstablished: names accepted, not (yet) established.
	crdNamesAcceptedNotEstablished
)

// crdEstablishing says where the CRD u is, with the condition that says so.
func crdEstablishing(u *unstructured.Unstructured) (crdState, map[string]any) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var accepted map[string]any
	for _, c := range conds {
		m, _ := c.(map[string]any)
		switch {
		case m["type"] == "Established" && m["status"] == "True":
			return crdReady, m
		case m["type"] == "NamesAccepted" && m["status"] == "False":
			return crdNamesRefused, m
		case m["type"] == "NamesAccepted" && m["status"] == "True":
			accepted = m
		}
	}
	if accepted != nil {
		return crdNamesAcceptedNotEstablished, accepted
	}
	return crdWaiting, nil
}

// crdNudgeAnnotation is written and removed again on a CRD stuck between its names being
// accepted and being established.
const crdNudgeAnnotation = "kubectl-converge.io/establishing"

// nudgeEstablishing writes an annotation on the CRD and removes it again. The API server
// establishes a CRD when it sees an update of it with its names accepted; one killed between
// storing that condition and establishing it (a restart while the CRD was being created)
// sees no update after it starts again, and its names controller skips a CRD whose names are
// already accepted, so the CRD waits for the informers' resync, minutes later. Two metadata
// writes are two updates; nothing else of the CRD changes. Failures are left to the next
// round.
func nudgeEstablishing(helper *resource.Helper, name string) {
	for _, value := range []string{strconv.Quote(time.Now().UTC().Format(time.RFC3339Nano)), "null"} {
		patch := []byte(`{"metadata":{"annotations":{"` + crdNudgeAnnotation + `":` + value + `}}}`)
		if _, err := helper.WithFieldManager(crdFieldManager).Patch("", name, types.MergePatchType, patch, &metav1.PatchOptions{}); err != nil {
			return
		}
	}
}

// roundDiscovery asks discovery once per group version in one round of awaitServed.
type roundDiscovery struct {
	served discovery.DiscoveryInterface
	lists  map[string]*metav1.APIResourceList
}

func (r *roundDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	if list, ok := r.lists[gv]; ok {
		if list == nil {
			return nil, fmt.Errorf("group version %s is not served", gv)
		}
		return list, nil
	}
	list, err := r.served.ServerResourcesForGroupVersion(gv)
	if err != nil {
		list = nil
	}
	r.lists[gv] = list
	return list, err
}

// discoveryServes reports whether the API server's discovery lists the CRD's kind in every
// version it serves. Established comes first: the discovery documents follow a moment later,
// and objects of the kind built before that are "no matches for kind".
func discoveryServes(served resourceLister, crd *unstructured.Unstructured) bool {
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

// resourceLister is the part of discovery discoveryServes asks.
type resourceLister interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
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
