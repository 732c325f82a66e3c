package inject

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/manifest"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr bool
	}{
		{in: "nginx", want: Ref{Repository: "nginx"}},
		{in: "nginx:1.27", want: Ref{Repository: "nginx", Tag: "1.27"}},
		{in: "registry.example.com:5000/team/app:v1@sha256:abc", want: Ref{Registry: "registry.example.com:5000", Repository: "registry.example.com:5000/team/app", Tag: "v1", Digest: "sha256:abc"}},
		{in: "localhost/app@sha256:def", want: Ref{Registry: "localhost", Repository: "localhost/app", Digest: "sha256:def"}},
		{in: "team/app:2", want: Ref{Repository: "team/app", Tag: "2"}},
		{in: "", wantErr: true},
		{in: "app@nodigest", wantErr: true},
		{in: "has space:1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseRef(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestServiceValues(t *testing.T) {
	v := ServiceValues{Env: "prod", Namespace: "shop", Images: Images{"backend": "reg.io/shop/backend:1.2@sha256:aa"}}.Values()
	werf := v["werf"].(map[string]any)
	if werf["image"].(map[string]any)["backend"] != "reg.io/shop/backend:1.2@sha256:aa" || werf["tag"].(map[string]any)["backend"] != "1.2" {
		t.Fatalf("werf.image/tag wrong: %v", werf)
	}
	if werf["env"] != "prod" || werf["namespace"] != "shop" {
		t.Fatalf("werf.env/namespace wrong: %v", werf)
	}
	global := v["global"].(map[string]any)
	if global["env"] != "prod" {
		t.Fatalf("global.env = %v", global["env"])
	}
	// werf 2's keys (werf pkg/image/image_values.go): repository without the registry.
	want := map[string]any{
		"registry": "reg.io", "namespace": "shop", "name": "backend", "tag": "1.2", "digest": "sha256:aa", "tag_digest": "1.2@sha256:aa",
		"image": "reg.io/shop/backend", "repository": "shop/backend",
		"ref": "reg.io/shop/backend:1.2@sha256:aa", "ref_tag": "reg.io/shop/backend:1.2",
		"repository_ref": "shop/backend:1.2@sha256:aa", "repository_tag": "shop/backend:1.2",
		"name_ref": "backend:1.2@sha256:aa", "name_tag": "backend:1.2",
	}
	got := global["werf"].(map[string]any)["images"].(map[string]any)["backend"]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("global.werf.images.backend = %v, want %v", got, want)
	}
}

func TestParseFlagsErrorsNameTheFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		flag string
	}{
		{"image without =", second(ParseImageFlags([]string{"backend"})), "--image"},
		{"image bad ref", second(ParseImageFlags([]string{"backend=bad ref"})), "--image"},
		{"rewrite without =", second(ParseRewrites([]string{"nginx"})), "--rewrite-image"},
		{"rewrite FROM with tag", second(ParseRewrites([]string{"nginx:1=mirror/nginx"})), "--rewrite-image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.HasPrefix(tt.err.Error(), tt.flag) {
				t.Fatalf("error %v does not start with %s", tt.err, tt.flag)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestRewriteImages(t *testing.T) {
	in := `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: busybox:1.36
          containers:
          - name: app
            image: nginx:1.25
          - name: sidecar
            image: docker.io/library/nginx@sha256:abc
          - name: other
            image: redis:7
`
	rewrites, err := ParseRewrites([]string{"nginx=mirror.local/nginx", "busybox=mirror.local/busybox:1.37", "docker.io/library/nginx=mirror.local/nginx:pinned"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := manifest.Edit([]byte(in), func(o *manifest.Object) error { return RewriteImages(o, rewrites) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"image: mirror.local/busybox:1.37", "image: mirror.local/nginx:1.25", "image: mirror.local/nginx:pinned", "image: redis:7"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("rewritten manifest misses %q:\n%s", want, out)
		}
	}
}

func TestBundleValuesKeepWhatWasBaked(t *testing.T) {
	v := ServiceValues{Version: "v1.2.3", Namespace: "shop"}.BundleValues()
	werf := v["werf"].(map[string]any)
	if _, has := werf["env"]; has {
		t.Fatalf("werf.env given without --env would replace the baked one: %v", werf)
	}
	if _, has := werf["image"]; has {
		t.Fatalf("werf.image given without --image would replace the baked images: %v", werf)
	}
	if werf["version"] != "v1.2.3" || werf["namespace"] != "shop" {
		t.Fatalf("werf values %v", werf)
	}
	withEnv := ServiceValues{Env: "prod", Images: Images{"web": "reg.io/web:1"}}.BundleValues()
	if withEnv["werf"].(map[string]any)["env"] != "prod" || withEnv["global"].(map[string]any)["env"] != "prod" || withEnv["werf"].(map[string]any)["image"] == nil {
		t.Fatalf("given env and images must be set: %v", withEnv)
	}
}
