package layers_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/mxfleet/mxfleet"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// products are the module's packages outside the harness, as go list
// sees them (test files excluded: tests may use anything).
func packages(t *testing.T) (products, harness []pkg) {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module+"/internal/harness") {
			harness = append(harness, p)
		} else {
			products = append(products, p)
		}
	}
	if len(products) < 20 || len(harness) < 5 {
		t.Fatalf("go list found %d product and %d harness packages: run from the repository", len(products), len(harness))
	}
	return products, harness
}

func rel(p pkg) string { return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/") }

// in tells whether p is one of the packages named (module-relative).
func in(p pkg, names ...string) bool { return slices.Contains(names, rel(p)) }

func TestNoProductPackageImportsTheHarness(t *testing.T) {
	products, _ := packages(t)
	for _, p := range products {
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/internal/harness") {
				t.Errorf("%s imports the harness package %s", rel(p), imp)
			}
		}
	}
}

// TestImportRules: job is pure; only the packages that open Redis import
// go-redis; asynq stays out of the core and the MX layer; mx and the
// leaves depend on nothing of the fleet.
func TestImportRules(t *testing.T) {
	products, _ := packages(t)
	const redis, asynq = "github.com/redis/go-redis/v9", "github.com/hibiken/asynq"
	redisOK := []string{"store", "tasks", "internal/fleet", "cmd/mxfleet"}
	noAsynq := []string{"job", "match", "mx", "mx/mxsim", "store", "internal/learn", "internal/pollplan", "internal/seal",
		"internal/redact", "internal/strictjson", "internal/institutions"}
	leaves := []string{"job", "match", "mx", "mx/mxsim", "internal/pollplan", "internal/seal", "internal/redact", "internal/strictjson"}
	for _, p := range products {
		for _, imp := range p.Imports {
			switch {
			case imp == redis && !in(p, redisOK...):
				t.Errorf("%s imports go-redis: only %v open Redis; keys are store's", rel(p), redisOK)
			case imp == asynq && in(p, noAsynq...):
				t.Errorf("%s imports asynq", rel(p))
			case strings.HasPrefix(imp, module+"/") && in(p, leaves...) && !(rel(p) == "mx/mxsim" && imp == module+"/mx"):
				t.Errorf("%s imports %s: it is a leaf of the fleet", rel(p), imp)
			case rel(p) == "job" && (imp == "net/http" || imp == "net" || imp == "os" || imp == "os/exec"):
				t.Errorf("job imports %s: it decides with no I/O", imp)
			}
		}
	}
}

// redisKey is how the fleet's and asynq's keys begin ("mxfleet:{store}:…",
// "asynq:{mx_polls}:…"); messages ("mxfleet: …") are not keys.
var redisKey = regexp.MustCompile(`^(mxfleet|asynq):\S`)

// TestRedisKeysAreStores: no product code outside store names a Redis key
// of the fleet's or of asynq's.
func TestRedisKeysAreStores(t *testing.T) {
	products, _ := packages(t)
	for _, p := range products {
		if in(p, "store") {
			continue
		}
		eachFile(t, p, func(name string, f *ast.File, fset *token.FileSet) {
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && redisKey.MatchString(s) {
					t.Errorf("%s: Redis key %q outside store", fset.Position(lit.Pos()), s)
				}
				return true
			})
		})
	}
}

// TestJobDecidesEveryOutcome: no handler chooses an error code; each
// names what MX or Redis answered (a job.Ending, job.Fail's callers in
// package job) and package job decides the code and the message.
func TestJobDecidesEveryOutcome(t *testing.T) {
	products, _ := packages(t)
	seen := false
	for _, p := range products {
		if !in(p, "handlers") {
			continue
		}
		seen = true
		eachFile(t, p, func(name string, f *ast.File, fset *token.FileSet) {
			local := ""
			for _, im := range f.Imports {
				if v, _ := strconv.Unquote(im.Path.Value); v == module+"/job" {
					local = "job"
					if im.Name != nil {
						local = im.Name.Name
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && (strings.HasPrefix(sel.Sel.Name, "Code") || sel.Sel.Name == "Fail" || sel.Sel.Name == "FailStart") {
					t.Errorf("%s: job.%s in handlers: turn what MX or Redis answered into a job.Ending and let package job decide the code", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		})
	}
	if !seen {
		t.Fatal("no package handlers")
	}
}

// httpClientOK are the product files that make HTTP requests, and to
// whom: only package mx calls MX.
var httpClientOK = map[string]string{
	"mx/client.go":               "MX's Platform API",
	"mx/mxsim/webhooks.go":       "the simulator's webhooks to the fleet (MX's side)",
	"handlers/callback.go":       "callbacks to the upstream",
	"internal/callback/allow.go": "the upstream callbacks' client",
	"internal/scenario/oauth.go": "the demo's end user at the simulated OAuth page",
}

// TestOnlyMXCallsMX: HTTP requests are made only where httpClientOK says.
func TestOnlyMXCallsMX(t *testing.T) {
	products, _ := packages(t)
	calls := []string{"NewRequest", "NewRequestWithContext", "Get", "Post", "PostForm", "Head", "DefaultClient"}
	for _, p := range products {
		eachFile(t, p, func(name string, f *ast.File, fset *token.FileSet) {
			file := filepath.ToSlash(filepath.Join(rel(p), name))
			if _, ok := httpClientOK[file]; ok {
				return
			}
			local := ""
			for _, im := range f.Imports {
				if v, _ := strconv.Unquote(im.Path.Value); v == "net/http" {
					local = "http"
					if im.Name != nil {
						local = im.Name.Name
					}
				}
			}
			if local == "" {
				return
			}
			flag := func(sel *ast.SelectorExpr) {
				t.Errorf("%s: http.%s outside the files that may make HTTP requests (%v)", fset.Position(sel.Pos()), sel.Sel.Name, keys(httpClientOK))
			}
			isHTTP := func(e ast.Expr, names ...string) (*ast.SelectorExpr, bool) {
				sel, ok := e.(*ast.SelectorExpr)
				if !ok {
					return nil, false
				}
				x, ok := sel.X.(*ast.Ident)
				return sel, ok && x.Name == local && slices.Contains(names, sel.Sel.Name)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit: // http.Client{…}: a client made here
					if sel, ok := isHTTP(n.Type, "Client"); ok {
						flag(sel)
					}
				case *ast.SelectorExpr:
					if sel, ok := isHTTP(n, calls...); ok {
						flag(sel)
					}
				}
				return true
			})
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func eachFile(t *testing.T, p pkg, fn func(name string, f *ast.File, fset *token.FileSet)) {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		fn(name, f, fset)
	}
}
