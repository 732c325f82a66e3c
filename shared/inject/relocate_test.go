package inject

import (
	"strconv"
	"strings"
	"testing"
)

func TestRelocate(t *testing.T) {
	baked := ServiceValues{Env: "prod", Images: Images{"web": "registry.example.com/shop/web:2.0.0", "db": "docker.io/library/postgres@sha256:" + hexA}}.Values()
	baked["greeting"] = "kept"
	out, changes, err := Relocate(baked, "mirror.example.com/prod/")
	if err != nil {
		t.Fatal(err)
	}
	want := "docker.io/library/postgres@sha256:" + hexA + " -> mirror.example.com/prod/postgres@sha256:" + hexA + "\n" +
		"registry.example.com/shop/web:2.0.0 -> mirror.example.com/prod/web:2.0.0"
	if got := strings.Join(changes, "\n"); got != want {
		t.Fatalf("changes:\n%s\nwant:\n%s", got, want)
	}
	werf := out["werf"].(map[string]any)
	if werf["image"].(map[string]any)["web"] != "mirror.example.com/prod/web:2.0.0" || werf["env"] != "prod" || out["greeting"] != "kept" {
		t.Fatalf("relocated values %v", out)
	}
	web := out["global"].(map[string]any)["werf"].(map[string]any)["images"].(map[string]any)["web"].(map[string]any)
	if web["registry"] != "mirror.example.com" || web["repository"] != "prod/web" || web["image"] != "mirror.example.com/prod/web" || web["tag"] != "2.0.0" {
		t.Fatalf("structured image %v", web)
	}
	if baked["werf"].(map[string]any)["image"].(map[string]any)["web"] != "registry.example.com/shop/web:2.0.0" {
		t.Fatal("Relocate changed its input")
	}
	for _, target := range []string{"", "mirror.example.com/prod:1", "Mirror/Prod", "mirror.example.com/prod@sha256:" + hexA} {
		if _, _, err := Relocate(baked, target); err == nil || !strings.HasPrefix(err.Error(), "--rewrite-images-to "+strconv.Quote(target)+": ") {
			t.Fatalf("target %q: %v", target, err)
		}
	}
}
