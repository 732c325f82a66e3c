package inject

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Images maps image names, as the chart refers to them, to references.
type Images map[string]string

// ParseImageFlags parses NAME=REF items of --image.
func ParseImageFlags(items []string) (Images, error) {
	out := Images{}
	for _, item := range items {
		name, ref, ok := strings.Cut(item, "=")
		if !ok || name == "" || ref == "" {
			return nil, fmt.Errorf("--image %q: want NAME=REF, e.g. backend=registry.example.com/app/backend:1.2.3", item)
		}
		if _, err := ParseRef(ref); err != nil {
			return nil, fmt.Errorf("--image %q: %w", item, err)
		}
		out[name] = ref
	}
	return out, nil
}

// LoadImagesFile reads a YAML or JSON map of NAME: REF (--images-file).
func LoadImagesFile(path string) (Images, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--images-file: %w", err)
	}
	var out Images
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("--images-file %s: want a map of image name to reference: %w", path, err)
	}
	for name, ref := range out {
		if _, err := ParseRef(ref); err != nil {
			return nil, fmt.Errorf("--images-file %s: image %q: %w", path, name, err)
		}
	}
	return out, nil
}

// Merge returns the images of base overridden by over.
func (i Images) Merge(over Images) Images {
	out := Images{}
	for k, v := range i {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// ServiceValues are the values werf injects into every chart it deploys; they take
// precedence over every user value.
type ServiceValues struct {
	// Env is --env; it is "" when not given, as in werf.
	Env string
	// Namespace is the release namespace.
	Namespace string
	Images    Images
}

// Values returns the service values as chart values:
// werf.{env,namespace,image.NAME,tag.NAME}, global.env and
// global.werf.{env,namespace,images.NAME.{ref,registry,repository,tag,digest}}.
func (s ServiceValues) Values() map[string]any {
	image, tag, structured := map[string]any{}, map[string]any{}, map[string]any{}
	names := make([]string, 0, len(s.Images))
	for name := range s.Images {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ref, _ := ParseRef(s.Images[name]) // validated when parsed
		image[name] = s.Images[name]
		tag[name] = ref.Tag
		structured[name] = map[string]any{
			"ref":        s.Images[name],
			"registry":   ref.Registry,
			"repository": ref.Repository,
			"tag":        ref.Tag,
			"digest":     ref.Digest,
		}
	}
	return map[string]any{
		"werf": map[string]any{
			"env":       s.Env,
			"namespace": s.Namespace,
			"image":     image,
			"tag":       tag,
		},
		"global": map[string]any{
			"env": s.Env,
			"werf": map[string]any{
				"env":       s.Env,
				"namespace": s.Namespace,
				"images":    structured,
			},
		},
	}
}
