package testutil

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	module       = "github.com/kubectl-converge/converge/"
	importsBegin = "<!-- imports:begin -->\n"
	importsEnd   = "<!-- imports:end -->"
)

// TestArchitectureDocListsTheImportGraph keeps the import graph in docs/architecture.md
// true: every package of the plugins and shared/ with the project packages its non-test
// files import. -update rewrites the list.
func TestArchitectureDocListsTheImportGraph(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, top := range []string{"kubectl-converge", "helm-giterm", "shared"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(dir string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			imports, isPackage, err := projectImports(dir)
			if err != nil || !isPackage {
				return err
			}
			rel, _ := filepath.Rel(root, dir)
			line := "- `" + filepath.ToSlash(rel) + "`"
			if len(imports) > 0 {
				line += ": " + strings.Join(imports, ", ")
			}
			lines = append(lines, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(lines) < 20 {
		t.Fatalf("only %d packages found under %s", len(lines), root)
	}
	want := importsBegin + strings.Join(lines, "\n") + "\n" + importsEnd

	docPath := filepath.Join(root, "docs", "architecture.md")
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := strings.Index(string(doc), importsBegin), strings.Index(string(doc), importsEnd)
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %q ... %q block", docPath, strings.TrimSpace(importsBegin), importsEnd)
	}
	got := string(doc[begin : end+len(importsEnd)])
	if got == want {
		return
	}
	if *update {
		updated := string(doc[:begin]) + want + string(doc[end+len(importsEnd):])
		if err := os.WriteFile(docPath, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the import graph in %s is not the code's (rerun with -update, then fix the prose around it):\n--- code\n%s\n--- doc\n%s", docPath, want, got)
}

// projectImports lists the project packages the non-test Go files of dir import, sorted.
func projectImports(dir string) (imports []string, isPackage bool, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		isPackage = true
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", f, err)
		}
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(p, module); ok && !seen[rest] {
				seen[rest] = true
				imports = append(imports, rest)
			}
		}
	}
	slices.Sort(imports)
	for i, p := range imports {
		imports[i] = "`" + p + "`"
	}
	return imports, isPackage, nil
}
