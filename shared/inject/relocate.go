package inject

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Relocate points the image refs of a bundle's werf service values (.Values.werf.image.NAME
// and .Values.global.werf.images.NAME) at repository target: TARGET/<last path element>,
// keeping tags and digests. It returns the new values and "old -> new" for each image.
func Relocate(values map[string]any, target string) (map[string]any, []string, error) {
	given := target
	target = strings.TrimSuffix(target, "/")
	to, err := ParseRef(target)
	if err != nil {
		return nil, nil, fmt.Errorf("--rewrite-images-to %q: %w; want a repository such as registry.example.com/mirror", given, err)
	}
	if to.Tag != "" || to.Digest != "" {
		return nil, nil, fmt.Errorf("--rewrite-images-to %q: want a repository without tag or digest, such as registry.example.com/mirror", given)
	}
	werf, _ := values["werf"].(map[string]any)
	images, _ := werf["image"].(map[string]any)
	moved := Images{}
	var changes []string
	names := make([]string, 0, len(images))
	for name := range images {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		old, ok := images[name].(string)
		if !ok || old == "" {
			continue
		}
		ref, err := ParseRef(old)
		if err != nil {
			return nil, nil, fmt.Errorf("image %s of the bundle: %w", name, err)
		}
		ref.Repository = target + "/" + path.Base(ref.Repository)
		moved[name] = ref.String()
		changes = append(changes, old+" -> "+moved[name])
	}
	if len(moved) == 0 {
		return values, nil, nil
	}
	relocated := ServiceValues{Images: moved}.Values()
	// Only the image entries change: env and namespace stay as baked.
	out := mergeImages(values, relocated)
	return out, changes, nil
}

func mergeImages(values, relocated map[string]any) map[string]any {
	out := copyMap(values)
	werf := copyMap(asMap(out["werf"]))
	rw := asMap(relocated["werf"])
	for _, k := range []string{"image", "tag"} {
		merged := copyMap(asMap(werf[k]))
		for name, v := range asMap(rw[k]) {
			merged[name] = v
		}
		werf[k] = merged
	}
	out["werf"] = werf
	global := copyMap(asMap(out["global"]))
	gw := copyMap(asMap(global["werf"]))
	gi := copyMap(asMap(gw["images"]))
	for name, v := range asMap(asMap(asMap(relocated["global"])["werf"])["images"]) {
		gi[name] = v
	}
	gw["images"] = gi
	global["werf"] = gw
	out["global"] = global
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
