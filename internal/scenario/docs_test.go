package scenario_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
)

// The README's tables are generated from the code; this keeps them equal.
func TestREADMEMatchesTheCode(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for name, table := range map[string]string{"scenario": scenario.Markdown(), "connection-status": scenario.StatusMarkdown()} {
		if !strings.Contains(readme, table) {
			t.Errorf("README's %s table is out of date; it should read:\n\n%s", name, table)
		}
	}
	ct := reflect.TypeOf(fleet.Config{})
	for i := range ct.NumField() {
		v := fleet.Prefix + "_" + ct.Field(i).Tag.Get("envconfig")
		if !strings.Contains(readme, "`"+v+"`") {
			t.Errorf("README does not document %s", v)
		}
	}
}
