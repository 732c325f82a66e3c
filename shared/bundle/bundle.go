// Package bundle names, selects and stores bundles: charts with their values baked in, kept
// as Helm OCI charts in a registry or as archive files for moving them between registries.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
)

// DefaultTag is the tag of a bundle published or applied without one (werf's default).
const DefaultTag = "latest"

// Files a bundle chart carries besides the chart's own, as werf's bundles do.
const (
	ExtraAnnotationsFile = "extra_annotations.json"
	ExtraLabelsFile      = "extra_labels.json"
	// ServiceValuesFile records which of the values baked into values.yaml are werf's service
	// values (werf bakes them there too), so that values.schema.json is checked without them
	// at apply, as it is in a deploy from git. werf's own bundles do not have it.
	ServiceValuesFile = "service_values.json"
)

// Version is the chart version of a bundle published as tag: the tag itself when it is a
// semantic version, else 0.0.0-<timestamp>-<tag as a slug>, which sorts by publication time.
func Version(tag string, now time.Time) string {
	if _, err := semver.StrictNewVersion(tag); err == nil {
		return tag
	}
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(tag), "-"), "-")
	if slug == "" {
		slug = "tag"
	}
	return fmt.Sprintf("0.0.0-%s-%s", now.UTC().Format("20060102150405"), slug)
}

// IsRange reports whether tag asks for a semver range (1.4.x, ^1.4, >=1.2 <2) rather than
// one tag.
func IsRange(tag string) bool {
	if _, err := semver.StrictNewVersion(tag); err == nil {
		return false
	}
	if _, err := semver.NewConstraint(tag); err != nil {
		return false
	}
	return strings.ContainsAny(tag, "xX*^~<>=, |")
}

// SelectTag picks the highest of tags within the semver range.
func SelectTag(tags []string, constraint string) (string, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("--tag %q: not a semver range: %w", constraint, err)
	}
	var best *semver.Version
	bestTag := ""
	for _, t := range tags {
		v, err := semver.StrictNewVersion(strings.ReplaceAll(t, "_", "+"))
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestTag = v, t
		}
	}
	if best == nil {
		return "", fmt.Errorf("--tag %q: no tag matches among %d semver tags (%s)", constraint, len(tags), strings.Join(firstN(tags, 8), ", "))
	}
	return bestTag, nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(append([]string{}, s[:n]...), "...")
	}
	return s
}

// Archive is a bundle stored in a file: the chart archive and where it came from.
type Archive struct {
	// Source is the registry reference it was copied from, "" when none.
	Source string `json:"source,omitempty"`
	Tag    string `json:"tag,omitempty"`
	// ChartDigest is "sha256:<hex>" of Chart: reading the archive verifies it.
	ChartDigest string `json:"chartDigest"`
	Chart       []byte `json:"-"`
}

const (
	archiveIndex = "bundle.json"
	archiveChart = "chart.tgz"
	// MaxChartSize bounds the chart archive inside a bundle archive and a bundle's chart layer
	// pulled from a registry.
	MaxChartSize = charts.MaxPulledChartSize
	maxIndexSize = 64 << 10
)

// Digest is the OCI digest of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// WriteArchive stores a bundle in path as a gzipped tar of bundle.json and chart.tgz.
func WriteArchive(path string, a Archive) error {
	a.ChartDigest = Digest(a.Chart)
	index, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{archiveIndex, index}, {archiveChart, a.Chart}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write bundle archive: %w", err)
	}
	return nil
}

// ErrBadArchive is a bundle archive that is not one this tool wrote, or was changed since.
var ErrBadArchive = errors.New("not a valid bundle archive")

// ReadArchive reads a bundle archive: exactly bundle.json and chart.tgz as regular files,
// within size limits, the chart matching its recorded digest.
func ReadArchive(path string) (*Archive, error) {
	f, err := os.Open(path)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, fmt.Errorf("bundle archive %s: %w", path, pathErr.Err)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadArchive, path, fmt.Sprintf(format, args...))
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, bad("not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	var index, chart []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		limit := int64(0)
		var dst *[]byte
		switch {
		case h.Typeflag != tar.TypeReg:
			return nil, bad("entry %q is not a regular file", h.Name)
		case h.Name == archiveIndex && index == nil:
			limit, dst = maxIndexSize, &index
		case h.Name == archiveChart && chart == nil:
			limit, dst = MaxChartSize, &chart
		default:
			return nil, bad("unexpected entry %q: a bundle archive holds only %s and %s", h.Name, archiveIndex, archiveChart)
		}
		if h.Size > limit {
			return nil, bad("entry %q is %d bytes, more than the %d allowed", h.Name, h.Size, limit)
		}
		data, err := io.ReadAll(io.LimitReader(tr, limit+1))
		if err != nil {
			return nil, bad("%v", err)
		}
		if int64(len(data)) > limit {
			return nil, bad("entry %q is larger than the %d bytes allowed", h.Name, limit)
		}
		*dst = data
	}
	if index == nil || chart == nil {
		return nil, bad("it must hold %s and %s", archiveIndex, archiveChart)
	}
	var a Archive
	if err := json.Unmarshal(index, &a); err != nil {
		return nil, bad("%s: %v", archiveIndex, err)
	}
	if got := Digest(chart); got != a.ChartDigest {
		return nil, bad("the chart's digest is %s, the archive records %s: it was changed after it was written", got, a.ChartDigest)
	}
	a.Chart = chart
	return &a, nil
}
