package testutil

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// retiredYAMLLibraries are YAML libraries our code must not import: gopkg.in/yaml.v3 is
// archived upstream and continues as go.yaml.in/yaml/v3, the one library for editing YAML
// nodes; sigs.k8s.io/yaml stays for typed (de)serialization.
var retiredYAMLLibraries = map[string]string{
	"gopkg.in/yaml.v3":   "go.yaml.in/yaml/v3",
	"gopkg.in/yaml.v2":   "go.yaml.in/yaml/v3 (nodes) or sigs.k8s.io/yaml (typed)",
	"go.yaml.in/yaml/v2": "go.yaml.in/yaml/v3 (nodes) or sigs.k8s.io/yaml (typed)",
}

// TestOneYAMLLibraryForNodes: no Go file of the repository (product, tests, e2e, bench,
// tools) imports a retired YAML library.
func TestOneYAMLLibraryForNodes(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if instead, retired := retiredYAMLLibraries[p]; retired {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s: use %s", rel, p, instead)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files found under %s: the walk missed the project", checked, root)
	}
}
