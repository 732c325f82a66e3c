package inject

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// Digests of the right length: the parser checks them as the runtimes do.
var (
	hexA = strings.Repeat("a", 64)
	hexB = strings.Repeat("b", 64)
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		name    string
		wantErr string
	}{
		{in: "nginx", want: Ref{Repository: "nginx"}, name: "docker.io/library/nginx"},
		{in: "nginx:1.27", want: Ref{Repository: "nginx", Tag: "1.27"}, name: "docker.io/library/nginx"},
		{in: "library/nginx", want: Ref{Repository: "library/nginx"}, name: "docker.io/library/nginx"},
		{in: "docker.io/nginx", want: Ref{Registry: "docker.io", Repository: "docker.io/nginx"}, name: "docker.io/library/nginx"},
		{in: "docker.io/library/nginx:1.27", want: Ref{Registry: "docker.io", Repository: "docker.io/library/nginx", Tag: "1.27"}, name: "docker.io/library/nginx"},
		{in: "index.docker.io/library/nginx", want: Ref{Registry: "index.docker.io", Repository: "index.docker.io/library/nginx"}, name: "docker.io/library/nginx"},
		{in: "registry-1.docker.io/library/nginx", want: Ref{Registry: "registry-1.docker.io", Repository: "registry-1.docker.io/library/nginx"}, name: "docker.io/library/nginx"},
		{in: "team/app:2", want: Ref{Repository: "team/app", Tag: "2"}, name: "docker.io/team/app"},
		{in: "registry.example.com:5000/team/app:v1@sha256:" + hexA, want: Ref{Registry: "registry.example.com:5000", Repository: "registry.example.com:5000/team/app", Tag: "v1", Digest: "sha256:" + hexA}, name: "registry.example.com:5000/team/app"},
		{in: "localhost/app@sha256:" + hexB, want: Ref{Registry: "localhost", Repository: "localhost/app", Digest: "sha256:" + hexB}, name: "localhost/app"},
		{in: "localhost:5000/app:1", want: Ref{Registry: "localhost:5000", Repository: "localhost:5000/app", Tag: "1"}, name: "localhost:5000/app"},
		{in: "", wantErr: `invalid image reference "": empty`},
		{in: "app@nodigest", wantErr: `invalid image reference "app@nodigest": want [REGISTRY[:PORT]/]PATH[:TAG][@ALGORITHM:HEX]`},
		{in: "app@sha256:" + hexA[:32], wantErr: `digest: invalid checksum digest length`},
		{in: "app@md5:" + hexA, wantErr: `digest: unsupported digest algorithm`},
		{in: "has space:1", wantErr: `invalid image reference "has space:1": want`},
		{in: "Team/App", wantErr: `must be lowercase`},
		{in: "app:", wantErr: `invalid image reference "app:": want`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("ParseRef(%q) = %+v, %v; want one line with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
			if got.Name() != tt.name {
				t.Fatalf("Name() = %q, want %q", got.Name(), tt.name)
			}
		})
	}
}

func TestServiceValues(t *testing.T) {
	v := ServiceValues{Env: "prod", Namespace: "shop", Images: Images{"backend": "reg.io/shop/backend:1.2@sha256:" + hexA}}.Values()
	werf := v["werf"].(map[string]any)
	if werf["image"].(map[string]any)["backend"] != "reg.io/shop/backend:1.2@sha256:"+hexA || werf["tag"].(map[string]any)["backend"] != "1.2" {
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
		"registry": "reg.io", "namespace": "shop", "name": "backend", "tag": "1.2", "digest": "sha256:" + hexA, "tag_digest": "1.2@sha256:" + hexA,
		"image": "reg.io/shop/backend", "repository": "shop/backend",
		"ref": "reg.io/shop/backend:1.2@sha256:" + hexA, "ref_tag": "reg.io/shop/backend:1.2",
		"repository_ref": "shop/backend:1.2@sha256:" + hexA, "repository_tag": "shop/backend:1.2",
		"name_ref": "backend:1.2@sha256:" + hexA, "name_tag": "backend:1.2",
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
		{"rewrite bad TO", second(ParseRewrites([]string{"nginx=Mirror/Nginx"})), "--rewrite-image"},
		{"rewrite one image twice", second(ParseRewrites([]string{"nginx=mirror/nginx", "docker.io/library/nginx=other/nginx"})), "--rewrite-image"},
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
            image: docker.io/library/nginx@sha256:` + hexA + `
          - name: other
            image: redis:7
`
	rewrites, err := ParseRewrites([]string{"nginx=mirror.local/nginx", "busybox=mirror.local/busybox:1.37"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := manifest.Edit([]byte(in), func(o *manifest.Object) error { return RewriteImages(o, rewrites) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"image: mirror.local/busybox:1.37", "image: mirror.local/nginx:1.25", "image: mirror.local/nginx@sha256:" + hexA, "image: redis:7"} {
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
