package drivers

import (
	"testing"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

type countingDriver struct {
	driver.Driver
	queries int
}

func (d *countingDriver) Query(labels map[string]string) ([]*release.Release, error) {
	d.queries++
	return d.Driver.Query(labels)
}

func TestCachedReadsAnswerRepeatedListsUntilAWrite(t *testing.T) {
	mem := driver.NewMemory()
	counting := &countingDriver{Driver: mem}
	d := newCachedReads(counting)
	byName := map[string]string{"name": "shop", "owner": "helm"}

	if _, err := d.Query(byName); err == nil {
		t.Fatal("a release that does not exist was found")
	}
	if _, err := d.Query(byName); err == nil || counting.queries != 1 {
		t.Fatalf("second list of a missing release: err %v, %d queries, want the remembered not-found and 1 query", err, counting.queries)
	}
	rel := &release.Release{Name: "shop", Namespace: "ns", Version: 1, Info: &release.Info{Status: release.StatusDeployed}}
	if err := d.Create("sh.helm.release.v1.shop.v1", rel); err != nil {
		t.Fatal(err)
	}
	first, err := d.Query(byName)
	if err != nil || len(first) != 1 || counting.queries != 2 {
		t.Fatalf("after a write: %v, %v, %d queries; want the new revision read from the storage", first, err, counting.queries)
	}
	// Helm changes what it reads in place: the next reader must not see it.
	first[0].Info.Status = release.StatusSuperseded
	again, _ := d.Query(byName)
	if counting.queries != 2 || again[0].Info.Status != release.StatusDeployed {
		t.Fatalf("repeated list: %d queries, status %s; want 2 queries and the stored status", counting.queries, again[0].Info.Status)
	}
	if _, err := d.Query(map[string]string{"name": "shop", "owner": "helm", "status": "deployed"}); err != nil || counting.queries != 3 {
		t.Fatalf("a list with other labels: %v, %d queries", err, counting.queries)
	}
}
