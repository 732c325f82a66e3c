// Package inputs turns what a user asked for (a chart, values, secrets, images, annotations,
// names) into a Prepared release: loaded, validated, decrypted, ready to render and deploy.
package inputs

import (
	"fmt"

	"github.com/kubectl-converge/converge/shared/werfproject"
)

// MaxReleaseNameLength is Helm's limit on release names.
const MaxReleaseNameLength = werfproject.MaxReleaseLength

// ReleaseName returns the release name of a chart outside a werf project: explicit when
// given (validated, never changed), else the chart name with "-ENV" appended when env is
// set, slugged as werf slugs release names when that is not a valid release name.
func ReleaseName(explicit, chartName, env string) (string, error) {
	if explicit != "" {
		if err := ValidateReleaseName(explicit); err != nil {
			return "", fmt.Errorf("--release %q: %w", explicit, err)
		}
		return explicit, nil
	}
	name := chartName
	if env != "" {
		name += "-" + env
	}
	return werfproject.ReleaseSlug(name), nil
}

// ValidateReleaseName checks name against Helm's rules: a DNS-1123 subdomain of at most 53
// characters.
func ValidateReleaseName(name string) error {
	return werfproject.ValidateRelease(name)
}
