package helmsdk

import (
	"bytes"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// werf.io/deploy-on (lifecycle.ParseDeployOn): an object is rendered into an install or an
// upgrade only when its list names that operation, so an install-only object leaves the
// release on the next upgrade, as nelm warns (unless werf.io/ownership: anyone keeps it). A
// rollback deploys what the revision it returns to stored.

// filterDeployOn keeps the objects whose werf.io/deploy-on allows operation ("install" or
// "upgrade").
func filterDeployOn(rendered []byte, operation string) ([]byte, error) {
	if !bytes.Contains(rendered, []byte(lifecycle.AnnotationDeployOn)) {
		return rendered, nil
	}
	objects, err := manifest.Parse(rendered)
	if err != nil {
		return nil, err
	}
	kept := objects[:0]
	dropped := false
	for _, o := range objects {
		l, err := lifecycle.Parse(o.Kind(), o.Annotations())
		if err != nil {
			where := ""
			if src := o.Source(); src != "" {
				where = src + ": "
			}
			return nil, fmt.Errorf("%s%s %q: %w", where, o.Kind(), o.Name(), err)
		}
		if l.DeployedIn(lifecycle.Mode(operation)) {
			kept = append(kept, o)
		} else {
			dropped = true
		}
	}
	if !dropped {
		return rendered, nil
	}
	return manifest.Encode(kept)
}
