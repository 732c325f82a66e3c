package testutil

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoroutinesStartThroughRedact: every goroutine of the product is started with
// redact.Go, so that its panic is printed through the redactor; a bare go statement outside
// redact.Go itself is named here.
func TestGoroutinesStartThroughRedact(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var bare []string
	files := 0
	for _, top := range []string{"kubectl-converge", "helm-giterm", "shared"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if filepath.ToSlash(rel) == "shared/redact/panics.go" {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				if g, ok := n.(*ast.GoStmt); ok {
					bare = append(bare, fset.Position(g.Pos()).String())
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d files read under %s", files, root)
	}
	if len(bare) > 0 {
		t.Fatalf("go statements outside redact.Go (their panics would print unredacted; use redact.Go):\n%s", strings.Join(bare, "\n"))
	}
}
