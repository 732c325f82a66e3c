package helmsdk

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// AnnotationDeployOn is nelm's werf.io/deploy-on: the comma-separated stages an object is
// deployed in (nelm's default: install, upgrade, rollback). Here the main stages are honoured:
// an object is rendered into an install or an upgrade only when its list names that
// operation, so an install-only object leaves the release on the next upgrade, as nelm warns
// (unless werf.io/ownership: anyone keeps it). A rollback deploys what the revision it returns
// to stored. The stages before and after the main one are Helm hooks here, and are refused
// with the hook to use rather than deployed at the wrong time.
const AnnotationDeployOn = "werf.io/deploy-on"

// filterDeployOn keeps the objects whose werf.io/deploy-on allows operation ("install" or
// "upgrade").
func filterDeployOn(rendered []byte, operation string) ([]byte, error) {
	if !bytes.Contains(rendered, []byte(AnnotationDeployOn)) {
		return rendered, nil
	}
	objects, err := manifest.Parse(rendered)
	if err != nil {
		return nil, err
	}
	kept := objects[:0]
	dropped := false
	for _, o := range objects {
		value, ok := o.Annotations()[AnnotationDeployOn]
		if !ok {
			kept = append(kept, o)
			continue
		}
		stages, err := parseDeployOn(value)
		if err != nil {
			where := ""
			if src := o.Source(); src != "" {
				where = src + ": "
			}
			return nil, fmt.Errorf("%s%s %q: annotation %s: %w", where, o.Kind(), o.Name(), AnnotationDeployOn, err)
		}
		if slices.Contains(stages, operation) {
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

// parseDeployOn reads the stages of werf.io/deploy-on.
func parseDeployOn(value string) ([]string, error) {
	var stages []string
	for _, s := range strings.Split(value, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "install", "upgrade", "rollback":
			stages = append(stages, s)
		case "pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-rollback", "post-rollback", "pre-delete", "post-delete":
			return nil, fmt.Errorf("stage %q: objects deployed before or after the main stage are Helm hooks with converge: annotate helm.sh/hook: %s instead", s, s)
		case "delete", "test":
			return nil, fmt.Errorf("stage %q: use a Helm hook (helm.sh/hook: pre-delete, post-delete or test) instead", s)
		default:
			return nil, fmt.Errorf("invalid value %q: want a comma-separated list of install, upgrade, rollback", value)
		}
	}
	if !slices.Contains(stages, "install") && !slices.Contains(stages, "upgrade") {
		return nil, fmt.Errorf("%q: a rollback deploys the objects the revision it returns to stored, so an object deployed on rollback only is never deployed: add install or upgrade", value)
	}
	return stages, nil
}
