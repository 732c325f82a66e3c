package inputs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/secrets"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestSecretValuesWinOverUserValues: the decrypted secret values win over every user value,
// values files and --set alike, and the service values win over both, as in werf 1.2
// (pkg/deploy/helm/chart_extender/helpers/chart_extender_values_merger.go) and nelm
// (pkg/helm/pkg/chartutil/coalesce.go MergeInternal).
func TestSecretValuesWinOverUserValues(t *testing.T) {
	key, err := secrets.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := secrets.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	encrypt := func(plain string) string {
		out, err := cipher.EncryptValues([]byte(plain), nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	dir := t.TempDir()
	testutil.WriteFiles(t, dir, map[string]string{
		"chart/Chart.yaml":         "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		"chart/values.yaml":        "db: {password: chart, user: chart, host: chart}\n",
		"chart/secret-values.yaml": encrypt("db: {password: default-secret}\n"),
		"extra-secret.yaml":        encrypt("db: {user: extra-secret}\nwerf: {env: secret}\n"),
		"user.yaml":                "db: {password: file, user: file, host: file}\n",
		"key":                      key,
	})
	prepared, err := Prepare(Inputs{
		ChartPath:         filepath.Join(dir, "chart"),
		Env:               "production",
		Values:            charts.ValueSources{Files: []string{filepath.Join(dir, "user.yaml")}, Set: []string{"db.password=set,db.user=set"}},
		SecretValuesFiles: []string{filepath.Join(dir, "extra-secret.yaml")},
		SecretKeyFile:     filepath.Join(dir, "key"),
		Getenv:            os.Getenv,
	})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := prepared.Values["db"].(map[string]any)
	werf, _ := prepared.Values["werf"].(map[string]any)
	checks := []struct{ what, got, want string }{
		{"db.password (secret-values.yaml over --set)", str(db["password"]), "default-secret"},
		{"db.user (--secret-values over --set)", str(db["user"]), "extra-secret"},
		{"db.host (--values over the chart)", str(db["host"]), "file"},
		{"werf.env (service values over secret values)", str(werf["env"]), "production"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
