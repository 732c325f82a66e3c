package inject

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// Rewrite replaces images named From (by name, ignoring their tag and digest) with To, the
// way kustomize's images: field does: when To has no tag and no digest, the original tag and
// digest are kept; otherwise To's tag and digest replace both. The name matches however the
// chart spells it: "nginx", "library/nginx", "docker.io/library/nginx" and
// "index.docker.io/library/nginx" are one image. To is written as given.
type Rewrite struct {
	// From is the normalized name of the images rewritten (Ref.Name).
	From string
	To   Ref
}

// ParseRewrites parses FROM=TO items of --rewrite-image.
func ParseRewrites(items []string) ([]Rewrite, error) {
	var out []Rewrite
	given := map[string]string{}
	for _, item := range items {
		from, to, ok := strings.Cut(item, "=")
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("--rewrite-image %q: want FROM=TO, e.g. nginx=registry.example.com/mirror/nginx:1.27", item)
		}
		fromRef, err := ParseRef(from)
		if err != nil {
			return nil, fmt.Errorf("--rewrite-image %q: %w", item, err)
		}
		if fromRef.Tag != "" || fromRef.Digest != "" {
			return nil, fmt.Errorf("--rewrite-image %q: FROM %q has a tag or digest: give the image name only, e.g. nginx or docker.io/library/nginx", item, from)
		}
		toRef, err := ParseRef(to)
		if err != nil {
			return nil, fmt.Errorf("--rewrite-image %q: %w", item, err)
		}
		name := fromRef.Name()
		if first, ok := given[name]; ok {
			return nil, fmt.Errorf("--rewrite-image %q: %q already rewrites %s; give one rule per image", item, first, name)
		}
		given[name] = item
		out = append(out, Rewrite{From: name, To: toRef})
	}
	return out, nil
}

// RewriteImages applies the rewrites to every container, initContainer and ephemeral
// container found anywhere in obj, so pod templates of built-in workloads and of custom
// resources are covered alike.
func RewriteImages(obj *manifest.Object, rewrites []Rewrite) error {
	if len(rewrites) == 0 || obj.Root == nil {
		return nil
	}
	return walkContainers(obj.Root, func(image *yaml.Node) error {
		ref, err := ParseRef(image.Value)
		if err != nil {
			return nil // a templated or empty image is not ours to judge
		}
		name := ref.Name()
		for _, rw := range rewrites {
			if name != rw.From {
				continue
			}
			next := rw.To
			if next.Tag == "" && next.Digest == "" {
				next.Tag, next.Digest = ref.Tag, ref.Digest
			}
			image.Value, image.Tag, image.Style = next.String(), "!!str", 0
			return nil
		}
		return nil
	})
}

func walkContainers(n *yaml.Node, fn func(image *yaml.Node) error) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i].Value, n.Content[i+1]
			if (key == "containers" || key == "initContainers" || key == "ephemeralContainers") && value.Kind == yaml.SequenceNode {
				for _, c := range value.Content {
					if img := manifest.Lookup(c, "image"); img != nil && img.Kind == yaml.ScalarNode {
						if err := fn(img); err != nil {
							return err
						}
					}
				}
				continue
			}
			if err := walkContainers(value, fn); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := walkContainers(c, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
