// Package inject puts built image references into a chart: werf's service values
// (.Values.werf.image.NAME, .Values.global.werf.images.NAME, ...) for charts written for
// werf, and rewriting of container images in rendered pod templates for any chart.
package inject

import (
	"fmt"
	"strings"
)

// Ref is a parsed image reference: [REGISTRY/]PATH[:TAG][@DIGEST].
type Ref struct {
	// Registry is the host (and port) part, "" for Docker Hub short names.
	Registry string
	// Repository is the name without tag and digest, registry included.
	Repository string
	Tag        string
	Digest     string
}

// ParseRef splits ref into its parts. Only the shape is checked, not whether it exists.
func ParseRef(ref string) (Ref, error) {
	if ref == "" || strings.ContainsAny(ref, " \t\n") {
		return Ref{}, fmt.Errorf("invalid image reference %q", ref)
	}
	var r Ref
	name := ref
	if at := strings.Index(name, "@"); at >= 0 {
		r.Digest = name[at+1:]
		name = name[:at]
		if alg, hex, ok := strings.Cut(r.Digest, ":"); !ok || alg == "" || hex == "" {
			return Ref{}, fmt.Errorf("invalid image reference %q: digest must be ALGORITHM:HEX", ref)
		}
	}
	if colon := strings.LastIndex(name, ":"); colon > strings.LastIndex(name, "/") {
		r.Tag = name[colon+1:]
		name = name[:colon]
		if r.Tag == "" {
			return Ref{}, fmt.Errorf("invalid image reference %q: empty tag after ':'", ref)
		}
	}
	if name == "" || strings.HasSuffix(name, "/") || strings.HasPrefix(name, "/") {
		return Ref{}, fmt.Errorf("invalid image reference %q", ref)
	}
	r.Repository = name
	if first, _, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.Registry = first
	}
	return r, nil
}

// String is the reference in its canonical written form.
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
