package lifecycle

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// annotationLiteral matches a string that is a Helm or werf lifecycle annotation's name, or the
// prefix or domain of some: werf.io/... (not project.werf.io/... and the other metadata
// domains), the dependency domains, helm.sh's hook and resource-policy, meta.helm.sh's
// ownership metadata. Prose naming them (help, errors) is not a parser and stays free.
var annotationLiteral = regexp.MustCompile(`^(werf\.io/[\w.-]*|[\w-]*\.(external-)?dependency\.werf\.io(/[\w-]*)?|helm\.sh/(hook[\w-]*|resource-policy)|meta\.helm\.sh/[\w-]*)$`)

// TestOnlyLifecycleNamesTheAnnotations keeps the annotation vocabulary in this package: no
// other non-test Go file of the product spells an annotation out, so each is parsed here once
// and plan, deploy and uninstall cannot read it differently.
func TestOnlyLifecycleNamesTheAnnotations(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root {
			rel, _ := filepath.Rel(root, path)
			// e2e, bench and tools are test programs with charts of their own.
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "e2e" || rel == "bench" || rel == "tools" || path == self {
				return filepath.SkipDir
			}
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			value, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if m := annotationLiteral.FindString(value); m != "" {
				rel, _ := filepath.Rel(root, fset.Position(lit.Pos()).Filename)
				t.Errorf("%s:%d: %q names an annotation: use shared/lifecycle's constant and parser", rel, fset.Position(lit.Pos()).Line, value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files found under %s: the walk missed the project", checked, root)
	}
}
