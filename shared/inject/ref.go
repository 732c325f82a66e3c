// Package inject puts built image references into a chart: werf's service values
// (.Values.werf.image.NAME, .Values.global.werf.images.NAME, ...) for charts written for
// werf, and rewriting of container images in rendered pod templates for any chart.
package inject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Ref is a parsed image reference: [REGISTRY/]PATH[:TAG][@DIGEST], its parts as written.
// It is parsed by github.com/distribution/reference, the parser of the container runtimes.
type Ref struct {
	// Registry is the host (and port) part as written, "" for Docker Hub short names.
	Registry string
	// Repository is the name without tag and digest, registry included, as written.
	Repository string
	Tag        string
	Digest     string
}

// dockerHubAliases are hosts the runtimes pull Docker Hub images from under other names:
// distribution normalizes index.docker.io itself, registry-1.docker.io is Docker Hub's
// registry endpoint.
var dockerHubAliases = []string{"index.docker.io/", "registry-1.docker.io/"}

// ParseRef splits ref into its parts. Only the shape is checked, not whether it exists.
func ParseRef(ref string) (Ref, error) {
	named, err := parseNamed(ref)
	if err != nil {
		return Ref{}, err
	}
	r := Ref{Repository: ref}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
		r.Repository = strings.TrimSuffix(r.Repository, "@"+r.Digest)
	}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
		r.Repository = strings.TrimSuffix(r.Repository, ":"+r.Tag)
	}
	if first, _, ok := strings.Cut(r.Repository, "/"); ok && (reference.Domain(named) != "docker.io" || first == "docker.io" || isDockerHubAlias(r.Repository)) {
		r.Registry = first
	}
	return r, nil
}

// Name is the repository as the container runtime resolves it: "nginx", "library/nginx",
// "docker.io/library/nginx" and "index.docker.io/library/nginx" are all
// "docker.io/library/nginx". Two references name the same image exactly when their Names are
// equal.
func (r Ref) Name() string {
	named, err := parseNamed(r.Repository)
	if err != nil {
		return r.Repository
	}
	return named.Name()
}

// String is the reference as written.
func (r Ref) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// parseNamed parses and normalizes ref, Docker Hub's aliases included, with a one-line error
// saying what is wrong with it.
func parseNamed(ref string) (reference.Named, error) {
	normalized := ref
	for _, alias := range dockerHubAliases {
		if rest, ok := strings.CutPrefix(ref, alias); ok {
			normalized = "docker.io/" + rest
		}
	}
	named, err := reference.ParseNormalizedNamed(normalized)
	if err == nil {
		return named, nil
	}
	problem := err.Error()
	switch {
	case ref == "":
		problem = "empty"
	case errors.Is(err, reference.ErrReferenceInvalidFormat) && !strings.Contains(problem, "lowercase"):
		problem = "want [REGISTRY[:PORT]/]PATH[:TAG][@ALGORITHM:HEX] in lowercase, without spaces"
	case strings.Contains(problem, "digest"), strings.Contains(problem, "algorithm"):
		problem = "digest: " + problem
	}
	return nil, fmt.Errorf("invalid image reference %q: %s", ref, problem)
}

func isDockerHubAlias(repository string) bool {
	for _, alias := range dockerHubAliases {
		if strings.HasPrefix(repository, alias) {
			return true
		}
	}
	return false
}
