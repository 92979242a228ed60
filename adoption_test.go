package taskapi

import (
	"encoding/json"
	"go/version"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLicense checks that the module has a license pkg.go.dev recognises
// and that the READMEs and the OpenAPI document name it.
func TestLicense(t *testing.T) {
	b, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("LICENSE lacks %q", w)
		}
	}
	for _, readme := range []string{"README.md", "bearer/README.md"} {
		if b, err := os.ReadFile(readme); err != nil || !strings.Contains(string(b), "Apache License 2.0") {
			t.Errorf("%s does not name the license (%v)", readme, err)
		}
	}
	var doc struct {
		Info struct {
			License struct{ Name, Identifier string }
		}
	}
	b, err = os.ReadFile("httpapi/openapi.json")
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil || doc.Info.License.Identifier != "Apache-2.0" {
		t.Errorf("openapi.json info.license = %+v (%v), want the SPDX identifier Apache-2.0", doc.Info.License, err)
	}
}

// TestGoDirectiveIsTheLowest checks that go.mod asks for no newer Go than
// the modules the build uses ask for: a higher directive would raise the
// Go version of every module that imports bearer, for nothing.
func TestGoDirectiveIsTheLowest(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}} {{.GoVersion}}{{end}}", "./...").Output()
	if err != nil {
		t.Skip("go list:", err)
	}
	own, need, by := "", "go1.0", ""
	for _, line := range strings.Split(string(out), "\n") {
		path, v, ok := strings.Cut(line, " ")
		if !ok || v == "" {
			continue
		}
		if path == "github.com/taskapi/taskapi" {
			own = v
			continue
		}
		if version.Compare("go"+v, need) > 0 {
			need, by = "go"+v, path
		}
	}
	if own == "" {
		t.Fatal("go list names no go directive of this module")
	}
	if version.Compare("go"+own, need) != 0 {
		t.Errorf("go.mod says go %s; the highest a dependency needs is %s (%s): use that", own, strings.TrimPrefix(need, "go"), by)
	}
}
