// Package deploy turns what a user asked for (a chart, values, secrets, images, annotations)
// into a release and deploys it through the Helm-compatible release layer.
package deploy

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxReleaseNameLength is Helm's limit on release names.
const MaxReleaseNameLength = 53

// ReleaseName returns the release name: explicit when given (validated, never changed),
// else the chart name with "-ENV" appended when env is set, slugged werf-style when that is
// not a valid release name.
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
	return Slug(name, MaxReleaseNameLength), nil
}

// ValidateReleaseName checks name against Helm's rules: a DNS-1123 subdomain of at most 53
// characters.
func ValidateReleaseName(name string) error {
	if len(name) > MaxReleaseNameLength {
		return fmt.Errorf("longer than %d characters", MaxReleaseNameLength)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("not a valid release name: %s", strings.Join(errs, "; "))
	}
	return nil
}

var (
	invalidSlugChars = regexp.MustCompile(`[^a-z0-9-]+`)
	repeatedDashes   = regexp.MustCompile(`-{2,}`)
)

// Slug returns s when it is already a valid DNS-1123 label of at most max characters, and
// otherwise a lowercase form of it with invalid characters turned into dashes, cropped and
// suffixed with a hash of the original, so that different inputs stay different (werf's
// slug rules).
func Slug(s string, max int) string {
	if len(s) <= max && len(validation.IsDNS1123Label(s)) == 0 {
		return s
	}
	hash := fmt.Sprintf("%08x", murmur3([]byte(s)))
	body := strings.ToLower(s)
	body = invalidSlugChars.ReplaceAllString(body, "-")
	body = repeatedDashes.ReplaceAllString(body, "-")
	body = strings.Trim(body, "-")
	if limit := max - len(hash) - 1; len(body) > limit {
		body = strings.Trim(body[:limit], "-")
	}
	if body == "" {
		return hash
	}
	return body + "-" + hash
}

// murmur3 is MurmurHash3 x86 32-bit with seed 0.
func murmur3(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(data) / 4 * 4
	for i := 0; i < n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) - n {
	case 3:
		k ^= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[n])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
