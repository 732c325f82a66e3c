package inject

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// TestRewriteMatchesEverySpelling: a rule matches the image however the rule and the chart
// spell it; the chart's tag and digest stay unless the rule sets one; TO is written as given.
func TestRewriteMatchesEverySpelling(t *testing.T) {
	digest := "sha256:" + hexA
	hubRules := []string{"nginx", "library/nginx", "docker.io/nginx", "docker.io/library/nginx", "index.docker.io/library/nginx"}
	hubImages := []struct{ image, want string }{
		{"nginx", "mirror.local/nginx"},
		{"nginx:1.27", "mirror.local/nginx:1.27"},
		{"library/nginx:1.27", "mirror.local/nginx:1.27"},
		{"docker.io/nginx:1.27", "mirror.local/nginx:1.27"},
		{"docker.io/library/nginx:1.27", "mirror.local/nginx:1.27"},
		{"index.docker.io/library/nginx", "mirror.local/nginx"},
		{"registry-1.docker.io/library/nginx:1.27", "mirror.local/nginx:1.27"},
		{"nginx@" + digest, "mirror.local/nginx@" + digest},
		{"docker.io/library/nginx:1.27@" + digest, "mirror.local/nginx:1.27@" + digest},
		{"nginx-foo:1", "nginx-foo:1"},
		{"myreg/nginx:1", "myreg/nginx:1"},
		{"myreg.io/nginx:1", "myreg.io/nginx:1"},
		{"docker.io/myreg/nginx", "docker.io/myreg/nginx"},
		{"localhost:5000/nginx:1", "localhost:5000/nginx:1"},
		{"quay.io/library/nginx", "quay.io/library/nginx"},
	}
	type tc struct{ rule, image, want string }
	var tests []tc
	for _, from := range hubRules {
		for _, im := range hubImages {
			tests = append(tests, tc{from + "=mirror.local/nginx", im.image, im.want})
		}
	}
	tests = append(tests,
		// The rule's tag or digest replaces both of the chart's (kustomize newTag/digest).
		tc{"nginx=mirror.local/nginx:pinned", "docker.io/library/nginx:1.27@" + digest, "mirror.local/nginx:pinned"},
		tc{"index.docker.io/library/nginx=mirror.local/nginx@" + digest, "nginx:1.27", "mirror.local/nginx@" + digest},
		tc{"nginx=mirror.local/nginx:1.28@" + digest, "nginx", "mirror.local/nginx:1.28@" + digest},
		// A private registry with a port, both ways; TO keeps its spelling.
		tc{"localhost:5000/app=mirror.local/app", "localhost:5000/app:1", "mirror.local/app:1"},
		tc{"localhost:5000/app=mirror.local/app", "app:1", "app:1"},
		tc{"localhost:5000/app=mirror.local/app", "localhost/app:1", "localhost/app:1"},
		tc{"localhost:5000/app=app", "localhost:5000/app:1@" + digest, "app:1@" + digest},
		tc{"mirror.local/nginx=docker.io/library/nginx", "mirror.local/nginx:1.27", "docker.io/library/nginx:1.27"},
		tc{"mirror.local/nginx=docker.io/library/nginx", "nginx:1.27", "nginx:1.27"},
		// Not an image reference: left as the chart wrote it.
		tc{"nginx=mirror.local/nginx", "{{ .Values.image }}", "{{ .Values.image }}"},
		tc{"nginx=mirror.local/nginx", "NGINX", "NGINX"},
	)
	for _, tt := range tests {
		t.Run(tt.rule+" on "+tt.image, func(t *testing.T) {
			rewrites, err := ParseRewrites([]string{tt.rule})
			if err != nil {
				t.Fatal(err)
			}
			if got := rewriteOne(t, tt.image, rewrites); got != tt.want {
				t.Fatalf("--rewrite-image %s rewrote %q to %q, want %q", tt.rule, tt.image, got, tt.want)
			}
		})
	}
}

func rewriteOne(t *testing.T, image string, rewrites []Rewrite) string {
	t.Helper()
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": image}}}}
	in, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	out, err := manifest.Edit(in, func(o *manifest.Object) error { return RewriteImages(o, rewrites) })
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Spec struct {
			Containers []struct{ Image string }
		}
	}
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got.Spec.Containers[0].Image
}
