package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
	"github.com/kubectl-converge/converge/shared/bundle"
)

// helmHome installs the plugin for helm (helm3 or helm4) in a home of this test and returns
// a command maker that runs helm there, in dir.
func helmHome(t *testing.T, env *harness.Env, helm, dir string) func(args ...string) *harness.Cmd {
	t.Helper()
	home := t.TempDir()
	run := func(args ...string) *harness.Cmd {
		return env.Command(t, helm, args...).Dir(dir).
			Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
			Env("HELM_DATA_HOME", filepath.Join(home, "data")).
			Env("HELM_CACHE_HOME", filepath.Join(home, "cache"))
	}
	run("plugin", "install", env.RepoRoot).Succeed()
	return run
}

var pushedRef = regexp.MustCompile(`^oci://\S+@sha256:[0-9a-f]{64}\n$`)

// publish pushes the project in dir as a bundle and returns the digest-pinned reference.
func publish(t *testing.T, helm func(args ...string) *harness.Cmd, key, ref, tag string, args ...string) string {
	t.Helper()
	res := helm(append([]string{"giterm", "bundle-publish", ref, "--tag", tag, "--plain-http"}, args...)...).Env("WERF_SECRET_KEY", key).Succeed()
	if !pushedRef.MatchString(res.Stdout) {
		t.Fatalf("bundle-publish printed %q, want the pushed reference with its digest", res.Stdout)
	}
	return strings.TrimSpace(res.Stdout)
}

// TestBundlePublishApplyWithoutGit publishes a chart with secrets, values, an image and an
// annotation, then applies it from a directory without any git repository: the live objects
// carry the baked values, the decrypted secret, the image and the annotation; --set at apply
// time wins; without the key the apply fails clearly and deploys nothing.
func TestBundlePublishApplyWithoutGit(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project, key := werfProject(t, env)
	registry := harness.Registry(t)
	helm := helmHome(t, env, "helm3", project)
	ref := "oci://" + registry + "/shop/bundle"
	pinned := publish(t, helm, key, ref, "1.0.0", "--set", "greeting=baked,useSecretFile=true", "--image", "web=registry.example.com/shop/web:2.0.0", "--add-annotation", "team=shop")

	elsewhere := helmHome(t, env, "helm3", t.TempDir())
	noKey := elsewhere("giterm", "bundle-apply", ref, "shop", "--tag", "1.0.0", "-n", ns, "--plain-http").Run()
	ours := strings.TrimSpace(strings.ReplaceAll(noKey.Stderr, `Error: plugin "giterm" exited with error`, ""))
	if noKey.ExitCode != 64 || !strings.Contains(ours, "Error: decrypt secret-values.yaml of bundle "+ref+":1.0.0@sha256:") || !strings.Contains(ours, "WERF_SECRET_KEY") || strings.Count(ours, "\n") != 0 {
		t.Fatalf("apply without the key: exit %d, want 64 and one line naming the file and the key:\n%s", noKey.ExitCode, noKey.Stderr)
	}
	if out := env.Kubectl(t, "-n", ns, "get", "configmaps,secrets,deployments", "-o", "name"); strings.Contains(out, "shop") {
		t.Fatalf("a failed apply deployed objects:\n%s", out)
	}

	elsewhere("giterm", "bundle-apply", ref, "shop", "--tag", "1.0.0", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "baked" {
		t.Fatalf("greeting %q, want the baked value", got)
	}
	if got := secretValue(t, env, ns, "shop-db", "password"); got != "s3cr3t-from-werf-secrets" {
		t.Fatalf("secret password %q, want the bundle's secret value", got)
	}
	if got := jsonPath(t, env, ns, "configmap/shop-secret-file", "{.data.config\\.txt}"); !strings.Contains(got, "token: file-secret-token") {
		t.Fatalf("werf_secret_file content %q, want the decrypted secret/config.txt", got)
	}
	if got := jsonPath(t, env, ns, "deployment/shop-web", "{.spec.template.spec.containers[0].image}"); got != "registry.example.com/shop/web:2.0.0" {
		t.Fatalf("image %q, want the baked image", got)
	}
	if got := jsonPath(t, env, ns, "deployment/shop-web", "{.metadata.annotations.team}"); got != "shop" {
		t.Fatalf("annotation team=%q, want the baked one", got)
	}
	history := elsewhere("history", "shop", "-n", ns).Succeed().Stdout
	if !strings.Contains(history, "Deployed from bundle "+ref+":1.0.0@sha256:") || !strings.Contains(history, strings.TrimPrefix(pinned, ref+"@")) {
		t.Fatalf("history does not record the bundle digest %s:\n%s", pinned, history)
	}

	elsewhere("giterm", "bundle-apply", ref, "shop", "--tag", "1.0.0", "-n", ns, "--plain-http", "--set", "greeting=at-apply").Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "at-apply" {
		t.Fatalf("greeting %q, want the apply-time --set to win", got)
	}
	rendered := elsewhere("giterm", "bundle-render", ref, "shop", "--tag", "1.0.0", "--plain-http").Env("WERF_SECRET_KEY", key).Succeed().Stdout
	if !strings.Contains(rendered, "greeting: \"baked\"") || !strings.Contains(rendered, "team: shop") {
		t.Fatalf("bundle-render does not show the baked values:\n%s", rendered)
	}
}

// TestBundleIsAHelmChart pulls a published bundle with real helm v3 and v4: a valid chart
// whose values.yaml holds the baked values.
func TestBundleIsAHelmChart(t *testing.T) {
	env := harness.Get(t)
	project, key := werfProject(t, env)
	registry := harness.Registry(t)
	ref := "oci://" + registry + "/shop/bundle"
	publish(t, helmHome(t, env, "helm3", project), key, ref, "2.1.0", "--set", "greeting=baked-for-helm")
	for _, helm := range []string{"helm3", "helm4"} {
		t.Run(helm, func(t *testing.T) {
			dir := t.TempDir()
			env.Command(t, helm, "pull", ref, "--version", "2.1.0", "--plain-http", "-d", dir).Dir(dir).Succeed()
			pulled, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
			if len(pulled) != 1 {
				t.Fatalf("%s pull left %v", helm, pulled)
			}
			archive := pulled[0]
			values := env.Command(t, helm, "show", "values", archive).Succeed().Stdout
			if !strings.Contains(values, "greeting: baked-for-helm") {
				t.Fatalf("%s show values of the pulled bundle:\n%s", helm, values)
			}
			env.Command(t, helm, "lint", archive).Succeed()
			out := env.Command(t, helm, "template", "shop", archive, "--set", "db.password=plain").Succeed().Stdout
			if !strings.Contains(out, "baked-for-helm") {
				t.Fatalf("%s template of the pulled bundle:\n%s", helm, out)
			}
			res := env.Command(t, helm, "template", "shop", archive, "--set", "db.password=plain,useSecretFile=true").Run()
			if res.ExitCode == 0 || !strings.Contains(res.Stderr, "deploy it with helm giterm bundle-apply") {
				t.Fatalf("%s template of a bundle needing an encrypted file: exit %d\n%s", helm, res.ExitCode, res.Stderr)
			}
		})
	}
}

// TestBundleCopyThroughArchive copies registry -> archive -> second registry, stops the
// first registry, and applies from the second; an archive changed on the way is refused.
func TestBundleCopyThroughArchive(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project, key := werfProject(t, env)
	first, stopFirst := harness.StoppableRegistry(t)
	second := harness.Registry(t)
	helm := helmHome(t, env, "helm3", project)
	publish(t, helm, key, "oci://"+first+"/shop", "main", "--set", "greeting=copied", "--image", "web=registry.example.com/shop/web:3.0.0")

	archive := filepath.Join(t.TempDir(), "shop.tar.gz")
	helm("giterm", "bundle-copy", "--from", "oci://"+first+"/shop:main", "--to", "archive:"+archive, "--plain-http").Succeed()
	stopFirst()
	copied := helm("giterm", "bundle-copy", "--from", "archive:"+archive, "--to", "oci://"+second+"/mirror/shop", "--plain-http").Succeed()
	if !pushedRef.MatchString(copied.Stdout) {
		t.Fatalf("bundle-copy to a registry printed %q", copied.Stdout)
	}
	helm("giterm", "bundle-apply", "oci://"+second+"/mirror/shop:main", "shop", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "copied" {
		t.Fatalf("greeting %q after applying the copy", got)
	}
	if got := jsonPath(t, env, ns, "deployment/shop-web", "{.spec.template.spec.containers[0].image}"); got != "registry.example.com/shop/web:3.0.0" {
		t.Fatalf("image %q after a plain copy, want the baked one", got)
	}

	relocated := helm("giterm", "bundle-copy", "--from", "archive:"+archive, "--to", "oci://"+second+"/prod/shop:main", "--plain-http", "--rewrite-images-to", "mirror.example.com/prod").Succeed()
	if !strings.Contains(relocated.Stderr, "image registry.example.com/shop/web:3.0.0 -> mirror.example.com/prod/web:3.0.0") {
		t.Fatalf("the image rewrite is not reported:\n%s", relocated.Stderr)
	}
	helm("giterm", "bundle-apply", "oci://"+second+"/prod/shop:main", "shop", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "deployment/shop-web", "{.spec.template.spec.containers[0].image}"); got != "mirror.example.com/prod/web:3.0.0" {
		t.Fatalf("image %q after a relocating copy", got)
	}

	tampered := filepath.Join(t.TempDir(), "tampered.tar.gz")
	rewriteArchive(t, archive, tampered, func(name string, data []byte) []byte {
		if name == "chart.tgz" {
			return append(data, 0)
		}
		return data
	})
	res := helm("giterm", "bundle-apply", "archive:"+tampered, "shop", "-n", ns).Env("WERF_SECRET_KEY", key).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "not a valid bundle archive") || !strings.Contains(res.Stderr, "it was changed after it was written") {
		t.Fatalf("a tampered archive: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	escaping := filepath.Join(t.TempDir(), "escaping.tar.gz")
	rewriteArchive(t, archive, escaping, func(name string, data []byte) []byte { return data }, "../../escape")
	res = helm("giterm", "bundle-apply", "archive:"+escaping, "shop", "-n", ns).Env("WERF_SECRET_KEY", key).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `unexpected entry "../../escape"`) {
		t.Fatalf("an archive with a path outside: exit %d\n%s", res.ExitCode, res.Stderr)
	}
}

// rewriteArchive copies a bundle archive, changing entries with edit and adding empty
// entries named extra.
func rewriteArchive(t *testing.T, src, dst string, edit func(name string, data []byte) []byte, extra ...string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		data = edit(h.Name, data)
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	for _, name := range extra {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg})
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBundleTagRangeAndDigest publishes three versions: a semver range applies the highest
// matching one and says which, a digest applies exactly that bundle.
func TestBundleTagRangeAndDigest(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project, key := werfProject(t, env)
	registry := harness.Registry(t)
	helm := helmHome(t, env, "helm3", project)
	ref := "oci://" + registry + "/shop"
	pinned := map[string]string{}
	for _, v := range []string{"1.4.1", "1.4.3", "1.5.0"} {
		pinned[v] = publish(t, helm, key, ref, v, "--set", "greeting=v"+v)
	}
	res := helm("giterm", "bundle-apply", ref, "shop", "--tag", "1.4.x", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if !strings.Contains(res.Stderr, "--tag 1.4.x selects tag 1.4.3") {
		t.Fatalf("the selected tag is not named:\n%s", res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "v1.4.3" {
		t.Fatalf("greeting %q after --tag 1.4.x, want v1.4.3", got)
	}
	helm("giterm", "bundle-apply", pinned["1.4.1"], "shop", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "v1.4.1" {
		t.Fatalf("greeting %q after applying %s, want v1.4.1", got, pinned["1.4.1"])
	}
	res = helm("giterm", "bundle-apply", ref, "shop", "--tag", "^2.0", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `--tag "^2.0": no tag matches among 3 semver tags (1.5.0, 1.4.3, 1.4.1)`) {
		t.Fatalf("an unmatched range: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	plan := helm("giterm", "bundle-plan", ref, "shop", "--tag", "1.5.0", "-n", ns, "--plain-http", "--exit-code").Env("WERF_SECRET_KEY", key).Run()
	if plan.ExitCode != 2 || !strings.Contains(plan.Stdout, "+  greeting: v1.5.0") {
		t.Fatalf("bundle-plan: exit %d\n%s", plan.ExitCode, plan.Combined())
	}

	// werf's defaults: published without --tag is "latest", applied without --tag too, and an
	// apply without --env keeps the environment baked at publication.
	res = helm("giterm", "bundle-publish", ref, "--plain-http", "--env", "staging", "--set", "greeting=latest").Env("WERF_SECRET_KEY", key).Succeed()
	if !strings.Contains(res.Stderr, "as "+ref+":latest") {
		t.Fatalf("bundle-publish without --tag:\n%s", res.Stderr)
	}
	helm("giterm", "bundle-apply", ref, "shop", "-n", ns, "--plain-http").Env("WERF_SECRET_KEY", key).Succeed()
	if greeting, werfEnv := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"), jsonPath(t, env, ns, "configmap/shop-config", "{.data.env}"); greeting != "latest" || werfEnv != "staging" {
		t.Fatalf("greeting %q, env %q after applying latest without --env; want latest and the baked staging", greeting, werfEnv)
	}
}

// TestBundleRegistryCredentialsAndCA publishes to and applies from an HTTPS registry with a
// certificate of its own and a password: credentials from "helm registry login" and from
// docker's config.json both work, --ca-file trusts the certificate, and the password appears
// in no output, not even in the error of a wrong one.
func TestBundleRegistryCredentialsAndCA(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	const password = "p4ss-REGMARKER"
	host, ca := harness.SecureRegistry(t, "ci", password)
	project, key := werfProject(t, env)
	helm := helmHome(t, env, "helm3", project)
	ref := "oci://" + host + "/shop"
	check := func(res harness.Result) harness.Result {
		t.Helper()
		if strings.Contains(res.Combined(), "REGMARKER") {
			t.Fatalf("the registry password was printed:\n%s", res.Combined())
		}
		return res
	}

	untrusted := check(helm("giterm", "bundle-publish", ref, "--tag", "1.0.0").Env("WERF_SECRET_KEY", key).Run())
	if untrusted.ExitCode == 0 || !strings.Contains(untrusted.Stderr, "the registry's TLS certificate is not trusted: pass its CA with --ca-file") {
		t.Fatalf("publish to an untrusted certificate: exit %d\n%s", untrusted.ExitCode, untrusted.Stderr)
	}
	anonymous := check(helm("giterm", "bundle-publish", ref, "--tag", "1.0.0", "--ca-file", ca).Env("WERF_SECRET_KEY", key).Run())
	if anonymous.ExitCode == 0 || !strings.Contains(anonymous.Stderr, `the registry asks for credentials: log in with "helm registry login `+host+`"`) {
		t.Fatalf("publish without credentials: exit %d\n%s", anonymous.ExitCode, anonymous.Stderr)
	}
	check(helm("registry", "login", host, "--username", "ci", "--password-stdin", "--ca-file", ca).Stdin(password).Succeed())
	check(helm("giterm", "bundle-publish", ref, "--tag", "1.0.0", "--ca-file", ca, "--set", "greeting=behind-a-password").Env("WERF_SECRET_KEY", key).Succeed())

	docker := t.TempDir()
	auth := func(pass string) {
		token := base64.StdEncoding.EncodeToString([]byte("ci:" + pass))
		writeFile(t, filepath.Join(docker, "config.json"), `{"auths": {"`+host+`": {"auth": "`+token+`"}}}`)
	}
	auth(password)
	apply := helmHome(t, env, "helm3", t.TempDir())
	check(apply("giterm", "bundle-apply", ref, "shop", "--tag", "1.0.0", "-n", ns, "--ca-file", ca).Env("DOCKER_CONFIG", docker).Env("WERF_SECRET_KEY", key).Succeed())
	if got := jsonPath(t, env, ns, "configmap/shop-config", "{.data.greeting}"); got != "behind-a-password" {
		t.Fatalf("greeting %q", got)
	}
	auth("wrong-REGMARKER")
	wrong := check(apply("giterm", "bundle-render", ref, "--tag", "1.0.0", "--ca-file", ca).Env("DOCKER_CONFIG", docker).Env("WERF_SECRET_KEY", key).Run())
	if wrong.ExitCode == 0 || !strings.Contains(wrong.Stderr, "the registry refused the credentials (401 unauthorized)") {
		t.Fatalf("a wrong password: exit %d\n%s", wrong.ExitCode, wrong.Stderr)
	}
}

// TestBundleCopyOfAChartDirectory: copying a chart directory packages it with its
// dependencies, to an archive and to a registry, and each copy reads back whole; an archive
// whose chart lacks a declared dependency is refused by bundle-apply, naming it.
func TestBundleCopyOfAChartDirectory(t *testing.T) {
	env := harness.Get(t)
	registry := harness.Registry(t)
	dir, _ := dependencyRepo(t, env)
	chart := filepath.Join(dir, ".helm")
	archive := filepath.Join(t.TempDir(), "app.tar.gz")
	helm := func(args ...string) *harness.Cmd { return env.Command(t, "helm-giterm", args...).Dir(dir) }
	digest := strings.TrimSpace(helm("bundle-copy", "--from", chart, "--to", "archive:"+archive, "--plain-http").Succeed().Stdout)
	helm("bundle-copy", "--from", chart, "--to", "oci://"+registry+"/copies/app:1.0.0", "--plain-http").Succeed()
	// An archive is pinned by the digest bundle-copy printed, and says so when it is not.
	if res := helm("bundle-render", "archive:"+archive, "app", "--digest", digest).Run(); res.ExitCode != 0 || strings.Contains(res.Stderr, "not pinned") {
		t.Fatalf("bundle-render --digest %s: exit %d\n%s", digest, res.ExitCode, res.Stderr)
	}
	wrong := "sha256:" + strings.Repeat("0", 64)
	if res := helm("bundle-render", "archive:"+archive, "app", "--digest", wrong).Run(); res.ExitCode == 0 || !strings.Contains(res.Stderr, "not the expected "+wrong) {
		t.Fatalf("bundle-render with another digest: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	for _, ref := range []string{"archive:" + archive, "oci://" + registry + "/copies/app:1.0.0"} {
		res := helm("bundle-render", ref, "app", "--plain-http").Run()
		if res.ExitCode != 0 {
			t.Fatalf("bundle-render %s: exit %d\n%s", ref, res.ExitCode, res.Stderr)
		}
		if strings.HasPrefix(ref, "archive:") && !strings.Contains(res.Stderr, "is not pinned: pass --digest "+digest) {
			t.Errorf("an unpinned archive is not said:\n%s", res.Stderr)
		}
		for _, want := range []string{"name: app-parent", "name: app-sub", "name: app-metrics"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("%s read back lacks %q", ref, want)
			}
		}
	}
	if s := gitStatus(t, dir); s != "" {
		t.Errorf("bundle-copy wrote into the work tree: %q", s)
	}

	// helm package refuses a chart without its dependencies; a hand-made archive does not.
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	for name, content := range map[string]string{
		"app/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: ~0.2.0\n  repository: file://../sub\n",
		"app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent}\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	data := tgz.Bytes()
	broken := filepath.Join(t.TempDir(), "broken.tar.gz")
	if err := bundle.WriteArchive(broken, bundle.Archive{Chart: data, Tag: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"bundle-render", "archive:" + broken, "app"}, {"bundle-copy", "--from", "archive:" + broken, "--to", "archive:" + broken + ".copy"}} {
		res := helm(args...).Run()
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, `dependency sub ~0.2.0 (file://../sub) is missing`) {
			t.Errorf("%s of a bundle without its dependency: exit %d\n%s", args[0], res.ExitCode, res.Stderr)
		}
	}
}

// strictWerfProject is a git project whose chart reads werf's service values and has a
// values.schema.json that allows no key it does not name, as public charts' schemas do.
func strictWerfProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".helm", "Chart.yaml"), "apiVersion: v2\nname: strict\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(dir, ".helm", "values.yaml"), "greeting: hello\n")
	writeFile(t, filepath.Join(dir, ".helm", "values.schema.json"), `{"type": "object", "additionalProperties": false, "properties": {"greeting": {"type": "string"}}}`)
	writeFile(t, filepath.Join(dir, ".helm", "templates", "cm.yaml"), `apiVersion: v1
kind: ConfigMap
metadata: {name: strict-config}
data:
  greeting: {{ .Values.greeting | quote }}
  image: {{ .Values.werf.image.web | default "none" | quote }}
  env: {{ .Values.werf.env | quote }}
  repo: {{ .Values.werf.repo | quote }}
  commit: {{ .Values.werf.commit.hash | quote }}
`)
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "chart")
	return dir
}

// TestBundleOfAStrictSchemaChart: a chart written for werf whose values.schema.json allows only
// its own keys lints, publishes with --env, --image and --repo (the bundle registry reached over
// plain HTTP with --insecure-registry, werf's flag for it) and applies: the baked service values
// (the commit published from too, as werf bakes it) reach the templates without breaking the
// schema, which still refuses a wrong value at apply.
func TestBundleOfAStrictSchemaChart(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	dir := strictWerfProject(t)
	registry := harness.Registry(t)
	ref := "oci://" + registry + "/strict/bundle"
	helm := func(args ...string) *harness.Cmd {
		return env.Command(t, "helm-giterm", args...).Dir(dir).Env("HELM_NAMESPACE", ns)
	}

	helm("lint").Succeed()
	res := helm("bundle-publish", ref, "--tag", "1.0.0", "--insecure-registry", "--env", "staging", "--image", "web=registry.example.com/strict/web:1.2.3", "--repo", "registry.example.com/strict").Succeed()
	if !pushedRef.MatchString(res.Stdout) {
		t.Fatalf("bundle-publish printed %q, want the pushed reference with its digest", res.Stdout)
	}
	helm("bundle-apply", ref, "strict", "--tag", "1.0.0", "--insecure-registry").Succeed()
	for path, want := range map[string]string{"greeting": "hello", "image": "registry.example.com/strict/web:1.2.3", "env": "staging", "repo": "registry.example.com/strict", "commit": headCommit(t, dir)} {
		if got := jsonPath(t, env, ns, "configmap/strict-config", "{.data."+path+"}"); got != want {
			t.Errorf("data.%s = %q, want %q", path, got, want)
		}
	}
	rendered := helm("bundle-render", ref, "strict", "--tag", "1.0.0", "--insecure-registry", "--env", "production").Succeed().Stdout
	if !strings.Contains(rendered, `env: "production"`) || !strings.Contains(rendered, `image: "registry.example.com/strict/web:1.2.3"`) {
		t.Fatalf("bundle-render --env production: want the new env and the baked image:\n%s", rendered)
	}
	wrong := helm("bundle-apply", ref, "strict", "--tag", "1.0.0", "--insecure-registry", "--set", "extra=1").Run()
	if wrong.ExitCode != 64 || !strings.Contains(wrong.Stderr, "values do not match values.schema.json of chart strict: at '': additional properties 'extra' not allowed") || strings.Contains(wrong.Stderr, "'werf'") {
		t.Fatalf("bundle-apply --set extra=1: exit %d, want 64 naming only the wrong key:\n%s", wrong.ExitCode, wrong.Stderr)
	}
}
