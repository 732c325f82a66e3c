package inject

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// Rewrite replaces images named From (by name, ignoring their tag and digest) with To, the
// way kustomize's images: field does: when To has no tag and no digest, the original tag and
// digest are kept.
type Rewrite struct {
	From string
	To   Ref
}

// ParseRewrites parses FROM=TO items of --rewrite-image.
func ParseRewrites(items []string) ([]Rewrite, error) {
	var out []Rewrite
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
			return nil, fmt.Errorf("--rewrite-image %q: FROM is an image name without tag or digest", item)
		}
		toRef, err := ParseRef(to)
		if err != nil {
			return nil, fmt.Errorf("--rewrite-image %q: %w", item, err)
		}
		out = append(out, Rewrite{From: fromRef.Repository, To: toRef})
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
		for _, rw := range rewrites {
			if ref.Repository != rw.From {
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
