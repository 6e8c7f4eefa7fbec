package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/seastream/ss/"

// allowed lists, for each package (a path relative to the module root, or
// a prefix ending in "/"), the packages of this module it may import; a
// package may always import the standard library and packages under its
// own internal/. ARCHITECTURE.md has the same table.
var allowed = map[string][]string{
	"format":              {},
	"beacon":              {"format"},
	"ssfile":              {"format", "beacon", "internal/fmap", "internal/mapguard", "internal/regfile"},
	"streamer/driver":     {},
	"streamer":            {"streamer/driver", "streamer/filedriver"},
	"streamer/envelope":   {"streamer/driver"},
	"streamer/filedriver": {"format", "beacon", "ssfile", "ssdir", "streamer/driver", "streamer/envelope", "internal/regfile"},
	"adapters/":           {"streamer", "streamer/driver"},
	"internal/sscheck":    {"format", "beacon", "internal/"},
	"internal/ssdecode":   {"format", "ssfile", "internal/"},
	// The relay's engine works on any URI: it names no adapter, testing the
	// portable error kinds (driver.ErrHeaderUnsupported...) instead; of the
	// built-in file backend it uses the create option of an output file.
	"internal/relay": {"streamer", "streamer/driver", "streamer/filedriver", "internal/"},
	"metrics/":       {"streamer", "streamer/driver"},
	// The test kit of .ss files and stream directories (see testOnly).
	"internal/sstest": {"format", "ssfile", "ssdir"},
}

// testOnly are the packages only tests may import: no non-test file of the
// module imports them.
var testOnly = []string{"internal/sstest", "internal/testkit"}

// clients are the libraries only adapters (and programs) may link; the
// metrics libraries only the metrics plug-ins.
var clients = []string{"github.com/twmb/franz-go", "github.com/redis/go-redis",
	"github.com/prometheus/", "go.opentelemetry.io/"}

// imports returns the imports of the non-test Go files of dir.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out = append(out, p)
		}
	}
	return out
}

func rule(pkg string) ([]string, bool) {
	if r, ok := allowed[pkg]; ok {
		return r, true
	}
	for k, r := range allowed {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(pkg, k) {
			return r, true
		}
	}
	return nil, false
}

func permitted(pkg, imp string, rules []string) bool {
	if strings.HasPrefix(imp, pkg+"/internal/") {
		return true
	}
	return slices.ContainsFunc(rules, func(r string) bool {
		return imp == r || strings.HasSuffix(r, "/") && strings.HasPrefix(imp, r)
	})
}

// eachPackage calls fn with the path (relative to the module root, with
// slashes) and the non-test imports of every package directory of the
// module, leaving out testdata and hidden directories.
func eachPackage(t *testing.T, fn func(pkg string, imports []string)) {
	t.Helper()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		fn(filepath.ToSlash(rel), imports(t, path))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLayering walks the module and checks every package with a rule.
func TestLayering(t *testing.T) {
	checked := 0
	eachPackage(t, func(pkg string, ims []string) {
		rules, ok := rule(pkg)
		if !ok || len(ims) == 0 {
			return
		}
		checked++
		core := !strings.HasPrefix(pkg, "adapters/") && !strings.HasPrefix(pkg, "metrics/")
		for _, imp := range ims {
			if core && slices.ContainsFunc(clients, func(c string) bool { return strings.HasPrefix(imp, c) }) {
				t.Errorf("%s imports %s: only adapters may link a server's client, only metrics/ a metrics library", pkg, imp)
			}
			mine, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if !permitted(pkg, mine, rules) {
				t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow (allowed: %v)", pkg, mine, rules)
			}
		}
	})
	if checked < len(allowed) {
		t.Fatalf("checked %d packages, fewer than the %d rules: a rule names a package that does not exist", checked, len(allowed))
	}
}

// TestTestOnly checks that no non-test file imports a package of testOnly.
func TestTestOnly(t *testing.T) {
	eachPackage(t, func(pkg string, ims []string) {
		for _, imp := range ims {
			if mine, ok := strings.CutPrefix(imp, module); ok && slices.Contains(testOnly, mine) {
				t.Errorf("%s imports %s, which only tests may import", pkg, mine)
			}
		}
	})
}
