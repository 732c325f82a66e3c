package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// digest is a well-formed digest of no image: a pod in the local cluster runs without pulling.
const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// spellingsChart writes a chart whose one pod template spells Docker Hub's nginx in every way
// a chart may, beside images that only look alike.
func spellingsChart(t *testing.T) string {
	t.Helper()
	images := []string{
		"nginx", "nginx:1.27", "docker.io/library/nginx:1.27", "index.docker.io/library/nginx",
		"nginx@" + digest, "docker.io/library/nginx:1.27@" + digest,
		"nginx-foo:1", "myreg/nginx:1", "localhost:5000/nginx:1",
	}
	chart := filepath.Join(t.TempDir(), "spellings")
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: spellings\nversion: 1.0.0\n")
	var containers strings.Builder
	for i, image := range images {
		containers.WriteString("      - name: c" + string(rune('a'+i)) + "\n        image: \"" + image + "\"\n")
	}
	writeFile(t, filepath.Join(chart, "templates", "deployment.yaml"), `apiVersion: apps/v1
kind: Deployment
metadata:
  name: spellings
spec:
  replicas: 1
  selector:
    matchLabels: {app: spellings}
  template:
    metadata:
      labels: {app: spellings}
    spec:
      containers:
`+containers.String())
	return chart
}

// TestRewriteImageMatchesEverySpelling: --rewrite-image docker.io/library/nginx=R and
// nginx=R rewrite nginx however the chart spells it, keep its tags and digests, and leave
// images that only look alike; a converge deploys the rewritten images.
func TestRewriteImageMatchesEverySpelling(t *testing.T) {
	env := harness.Get(t)
	chart := spellingsChart(t)
	want := []string{
		"mirror.local/nginx", "mirror.local/nginx:1.27", "mirror.local/nginx:1.27", "mirror.local/nginx",
		"mirror.local/nginx@" + digest, "mirror.local/nginx:1.27@" + digest,
		"nginx-foo:1", "myreg/nginx:1", "localhost:5000/nginx:1",
	}
	imageLine := regexp.MustCompile(`(?m)^\s+image: "?([^"\s]+)"?$`)
	for _, rule := range []string{"docker.io/library/nginx=mirror.local/nginx", "nginx=mirror.local/nginx", "index.docker.io/library/nginx=mirror.local/nginx"} {
		t.Run(rule, func(t *testing.T) {
			out := env.Command(t, "kubectl", "converge", "render", chart, "-n", "spellings", "--rewrite-image", rule).Succeed().Stdout
			var got []string
			for _, m := range imageLine.FindAllStringSubmatch(out, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("--rewrite-image %s rendered images\n%s\nwant\n%s\n%s", rule, strings.Join(got, "\n"), strings.Join(want, "\n"), out)
			}
		})
	}
	t.Run("converge", func(t *testing.T) {
		ns := env.Namespace(t)
		env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", "spellings", "--rewrite-image", "nginx=mirror.local/nginx").Succeed()
		got := jsonPath(t, env, ns, "deployment/spellings", "{.spec.template.spec.containers[*].image}")
		if got != strings.Join(want, " ") {
			t.Fatalf("deployed images\n%s\nwant\n%s", got, strings.Join(want, " "))
		}
	})
}
