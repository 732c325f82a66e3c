package drivers

import (
	"crypto/sha256"
	"sync"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-converge/converge/shared/redact"
)

// secretsRegistered is the release storage handing the data of every Secret of each revision
// it reads, in its manifest and in its hooks, to the redactor. Every command reads a release
// before it shows anything of it (a rollback or an uninstall reads the revisions whose hooks
// it runs, track the releases of the objects it follows), so registering here covers every
// command at once.
type secretsRegistered struct {
	driver.Driver
	mu   sync.Mutex
	seen map[[sha256.Size]byte]bool
}

var _ driver.Driver = (*secretsRegistered)(nil)

// SecretsRegistered is d registering the Secrets of the revisions it reads with the redactor.
func SecretsRegistered(d driver.Driver) driver.Driver {
	return &secretsRegistered{Driver: d, seen: map[[sha256.Size]byte]bool{}}
}

func (d *secretsRegistered) Get(key string) (*release.Release, error) {
	rls, err := d.Driver.Get(key)
	d.register(rls)
	return rls, err
}

func (d *secretsRegistered) List(filter func(*release.Release) bool) ([]*release.Release, error) {
	releases, err := d.Driver.List(filter)
	d.register(releases...)
	return releases, err
}

func (d *secretsRegistered) Query(labels map[string]string) ([]*release.Release, error) {
	releases, err := d.Driver.Query(labels)
	d.register(releases...)
	return releases, err
}

func (d *secretsRegistered) register(releases ...*release.Release) {
	for _, rls := range releases {
		if rls == nil {
			continue
		}
		manifests := []string{rls.Manifest}
		for _, h := range rls.Hooks {
			if h != nil {
				manifests = append(manifests, h.Manifest)
			}
		}
		for _, m := range manifests {
			sum := sha256.Sum256([]byte(m))
			d.mu.Lock()
			done := d.seen[sum]
			d.seen[sum] = true
			d.mu.Unlock()
			if !done {
				redact.AddManifestSecrets(m)
			}
		}
	}
}
