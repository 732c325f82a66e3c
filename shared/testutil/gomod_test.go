package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testOnlyModules are what only the end-to-end tests and benchmarks use: an in-process OCI
// registry server and what it brings (a logger, redis, OpenTelemetry exporters), and werf's
// lockgate. They belong in e2e/go.mod or bench/go.mod, never in the product's.
var testOnlyModules = []string{
	"github.com/distribution/distribution/",
	"github.com/sirupsen/logrus",
	"github.com/redis/",
	"go.opentelemetry.io/otel/exporters/",
	"go.opentelemetry.io/contrib/exporters/",
	"github.com/werf/lockgate",
}

// TestProductModuleHasNoTestOnlyDependencies: the product's go.mod lists (directly or as
// indirect) every module the plugins and their unit tests build with; none of them may be a
// dependency only the e2e or bench modules need.
func TestProductModuleHasNoTestOnlyDependencies(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	required := requiredModules(string(data))
	if len(required) < 10 {
		t.Fatalf("only %d modules found in go.mod: %v", len(required), required)
	}
	for _, path := range required {
		for _, testOnly := range testOnlyModules {
			if strings.HasPrefix(path, testOnly) {
				t.Errorf("go.mod requires %s, which only tests use: import it from e2e/ or bench/ (their own modules) and run go mod tidy", path)
			}
		}
	}
}

// requiredModules lists the module paths of a go.mod's require directives, single-line and
// in blocks.
func requiredModules(gomod string) []string {
	var paths []string
	inBlock := false
	for line := range strings.SplitSeq(gomod, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
		case inBlock && line == ")":
			inBlock = false
		case inBlock && line != "" && !strings.HasPrefix(line, "//"):
			paths = append(paths, strings.Fields(line)[0])
		case strings.HasPrefix(line, "require "):
			paths = append(paths, strings.Fields(line)[1])
		}
	}
	return paths
}
