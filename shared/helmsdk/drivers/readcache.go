package drivers

import (
	"errors"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// cachedReads is the release storage with the history lists of one command remembered until
// the next write. A converge reads the history to recover a pending revision, to choose
// between install and upgrade, and Helm's upgrade reads it again; each list transfers every
// stored revision. Any write forgets everything, so a read after it sees the write. Callers
// get copies of the release and its info, which Helm changes in place.
type cachedReads struct {
	driver.Driver
	mu      sync.Mutex
	queries map[string]cachedQuery
}

type cachedQuery struct {
	releases []*release.Release
	err      error
}

var _ driver.Driver = (*cachedReads)(nil)

// CachedReads is d with the history lists remembered until the next write.
func CachedReads(d driver.Driver) driver.Driver { return newCachedReads(d) }

func newCachedReads(d driver.Driver) *cachedReads {
	return &cachedReads{Driver: d, queries: map[string]cachedQuery{}}
}

func (d *cachedReads) Query(labels map[string]string) ([]*release.Release, error) {
	key := labelKey(labels)
	d.mu.Lock()
	hit, ok := d.queries[key]
	d.mu.Unlock()
	if !ok {
		releases, err := d.Driver.Query(labels)
		if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return nil, err
		}
		hit = cachedQuery{releases: releases, err: err}
		d.mu.Lock()
		d.queries[key] = hit
		d.mu.Unlock()
	}
	return copyReleases(hit.releases), hit.err
}

func (d *cachedReads) Create(key string, rls *release.Release) error {
	d.forget()
	return d.Driver.Create(key, rls)
}

func (d *cachedReads) Update(key string, rls *release.Release) error {
	d.forget()
	return d.Driver.Update(key, rls)
}

func (d *cachedReads) Delete(key string) (*release.Release, error) {
	d.forget()
	return d.Driver.Delete(key)
}

func (d *cachedReads) forget() {
	d.mu.Lock()
	d.queries = map[string]cachedQuery{}
	d.mu.Unlock()
}

func labelKey(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func copyReleases(in []*release.Release) []*release.Release {
	if in == nil {
		return nil
	}
	out := make([]*release.Release, len(in))
	for i, r := range in {
		c := *r
		if r.Info != nil {
			info := *r.Info
			c.Info = &info
		}
		out[i] = &c
	}
	return out
}
