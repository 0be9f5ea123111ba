package scenario_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
)

// The docs' tables are generated from the code; this keeps them equal:
// the scenario table (docs/mx.md), the connection statuses (docs/jobs.md)
// and every setting (docs/configuration.md).
func TestDocsMatchTheCode(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct{ file, name, table string }{
		{"docs/mx.md", "scenario", scenario.Markdown()},
		{"docs/jobs.md", "connection-status", scenario.StatusMarkdown()},
	} {
		if !strings.Contains(read(tc.file), tc.table) {
			t.Errorf("%s's %s table is out of date; it should read:\n\n%s", tc.file, tc.name, tc.table)
		}
	}
	conf := read("docs/configuration.md")
	ct := reflect.TypeOf(fleet.Config{})
	for i := range ct.NumField() {
		v := fleet.Prefix + "_" + ct.Field(i).Tag.Get("envconfig")
		if !strings.Contains(conf, "`"+v+"`") {
			t.Errorf("docs/configuration.md does not document %s", v)
		}
	}
}
