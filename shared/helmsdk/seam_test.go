package helmsdk

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTheSeamImportsHelm keeps the Helm SDK behind helmsdk and its subpackages, so that
// a move to the Helm 4 SDK stays inside them.
func TestOnlyTheSeamImportsHelm(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seam := filepath.Join(root, "shared", "helmsdk")
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
		inSeam := strings.HasPrefix(path, seam+string(filepath.Separator))
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "helm.sh/helm/") && !inSeam {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s: call the Helm SDK through shared/helmsdk", rel, p)
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
