package bundle

import (
	"fmt"
	"os"
	"strings"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// ArchivePrefix marks a bundle archive file in place of a registry reference.
const ArchivePrefix = "archive:"

// Source names a bundle: "oci://REGISTRY/REPO" with a tag (or a semver range), a reference
// with its own ":TAG" or "@sha256:..." digest, "archive:FILE.tar.gz", or a chart directory.
type Source struct {
	Ref string
	// Tag is --tag: a tag or a semver range; "" when Ref carries its own tag or digest.
	Tag string
	// PlainHTTP fetches the dependencies of a chart directory from oci:// over HTTP and allows
	// http:// chart repositories.
	PlainHTTP bool
}

// Loaded is a bundle ready to deploy.
type Loaded struct {
	Chart *charts.Chart
	// Archive is the packaged chart as stored.
	Archive []byte
	// Origin names exactly what was loaded ("oci://host/repo:1.4.2@sha256:..."), for the
	// release's description.
	Origin string
	// Tag is the tag that was used; Selected says it was picked from a semver range.
	Tag      string
	Selected bool
}

// IsRegistry reports whether ref names a registry repository.
func IsRegistry(ref string) bool { return strings.HasPrefix(ref, "oci://") }

// Repository splits "oci://REGISTRY/REPO[:TAG][@DIGEST]" into the repository (without the
// scheme), the tag and the digest.
func Repository(ref string) (repo, tag, digest string) {
	rest := strings.TrimPrefix(ref, "oci://")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest, digest = rest[:i], rest[i+1:]
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, tag = rest[:i], rest[i+1:]
	}
	return rest, tag, digest
}

// Load fetches the bundle src names.
func Load(src Source, reg *charts.Registry) (*Loaded, error) {
	switch {
	case strings.HasPrefix(src.Ref, ArchivePrefix):
		path := strings.TrimPrefix(src.Ref, ArchivePrefix)
		a, err := ReadArchive(path)
		if err != nil {
			return nil, err
		}
		ch, err := charts.LoadChartArchive(a.Chart)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: chart: %v", ErrBadArchive, path, err)
		}
		if err := charts.CheckDependencies(ch); err != nil {
			return nil, fmt.Errorf("bundle archive %s: %w (a bundle carries its dependencies: publish it again)", path, err)
		}
		origin := "bundle archive " + path
		if a.Source != "" {
			origin += " (from " + a.Source + ")"
		}
		return &Loaded{Chart: ch, Archive: a.Chart, Origin: origin, Tag: a.Tag}, nil
	case IsRegistry(src.Ref):
		repo, tag, digest := Repository(src.Ref)
		if src.Tag != "" && (tag != "" || digest != "") {
			return nil, fmt.Errorf("%s already names a tag or digest: drop --tag %s", src.Ref, src.Tag)
		}
		l := &Loaded{Tag: tag}
		if src.Tag != "" {
			l.Tag = src.Tag
			if IsRange(src.Tag) {
				tags, err := reg.Tags(repo)
				if err != nil {
					return nil, err
				}
				if l.Tag, err = SelectTag(tags, src.Tag); err != nil {
					return nil, err
				}
				l.Selected = true
			}
		}
		ref := repo
		switch {
		case digest != "":
			ref += "@" + digest
		case l.Tag != "":
			ref += ":" + strings.ReplaceAll(l.Tag, "+", "_")
		default:
			// werf's default tag (werf bundle apply --tag latest).
			l.Tag = DefaultTag
			ref += ":" + DefaultTag
		}
		art, err := reg.Pull(ref)
		if err != nil {
			return nil, err
		}
		if len(art.Chart) > MaxChartSize {
			return nil, fmt.Errorf("bundle %s: its chart layer is %d bytes, more than the %d MiB allowed", ref, len(art.Chart), MaxChartSize>>20)
		}
		ch, err := charts.LoadChartArchive(art.Chart)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", ref, err)
		}
		if err := charts.CheckDependencies(ch); err != nil {
			return nil, fmt.Errorf("bundle %s: %w (a bundle carries its dependencies: publish it again)", ref, err)
		}
		l.Chart, l.Archive = ch, art.Chart
		l.Origin = "bundle oci://" + repo
		if l.Tag != "" {
			l.Origin += ":" + l.Tag
		}
		l.Origin += "@" + art.Digest
		return l, nil
	default:
		info, err := os.Stat(src.Ref)
		if err != nil || !info.IsDir() {
			return nil, fmt.Errorf("bundle %q: want oci://REGISTRY/REPO, archive:FILE.tar.gz or a chart directory", src.Ref)
		}
		// A directory is packaged with its dependencies, as bundle-publish would, so that
		// what is copied or applied is a complete chart.
		ch, err := charts.LoadChartTree(src.Ref, charts.LoadChart, charts.DependencyOptions{PlainHTTP: src.PlainHTTP})
		if err != nil {
			return nil, err
		}
		archive, err := ch.Archive()
		if err != nil {
			return nil, err
		}
		return &Loaded{Chart: ch, Archive: archive, Origin: "bundle directory " + src.Ref}, nil
	}
}
