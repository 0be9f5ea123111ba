package tasks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func TestValidatePerson(t *testing.T) {
	long := strings.Repeat("é", tasks.MaxPersonValue/2+1) // 258 bytes
	for _, c := range []struct {
		name string
		kind store.Kind
		p    *tasks.Person
		want string // "" for valid
	}{
		{"none", store.KindVerify, nil, ""},
		{"none identify", store.KindIdentify, nil, ""},
		{"name only", store.KindIdentify, &tasks.Person{Name: "José Álvarez"}, ""},
		{"postal code only", store.KindIdentify, &tasks.Person{Address: tasks.PersonAddress{PostalCode: "78701"}}, ""},
		{"full", store.KindIdentify, &tasks.Person{Name: "Robert J. Smith", Email: "bob@example.com", Phone: "+1 555 123 4567",
			Address: tasks.PersonAddress{Line1: "123 N Main St", Line2: "Apt 4", City: "Austin", State: "TX", PostalCode: "78701-1234", Country: "US"}}, ""},
		{"at the limit", store.KindIdentify, &tasks.Person{Name: strings.Repeat("a", tasks.MaxPersonValue)}, ""},
		{"verify", store.KindVerify, &tasks.Person{Name: "Robert Smith"}, "only identify jobs"},
		{"empty", store.KindIdentify, &tasks.Person{}, "at least one"},
		{"blank", store.KindIdentify, &tasks.Person{Name: " \t", Address: tasks.PersonAddress{City: " "}}, "at least one"},
		{"long", store.KindIdentify, &tasks.Person{Address: tasks.PersonAddress{Country: long}}, "address.country is 258 bytes, at most 256"},
		{"newline", store.KindIdentify, &tasks.Person{Name: "Robert\nSmith"}, "name holds a control character"},
		{"nul", store.KindIdentify, &tasks.Person{Phone: "555\x00"}, "phone holds a control character"},
		{"bad utf-8", store.KindIdentify, &tasks.Person{Address: tasks.PersonAddress{Line2: "Apt \xc3"}}, "address.line2 is not valid UTF-8"},
	} {
		err := tasks.ValidatePerson(c.kind, c.p)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if err := tasks.ValidatePerson(store.KindVerify, &tasks.Person{Name: "x"}); !errors.Is(err, tasks.ErrPersonOnVerify) {
		t.Errorf("verify: %v is not ErrPersonOnVerify", err)
	}
}

func TestValidateThresholds(t *testing.T) {
	p := &tasks.Person{Name: "Robert Smith"}
	for _, c := range []struct {
		name string
		kind store.Kind
		p    *tasks.Person
		t    *tasks.Thresholds
		want string // "" for valid
	}{
		{"none", store.KindIdentify, nil, nil, ""},
		{"none on verify", store.KindVerify, nil, nil, ""},
		{"given", store.KindIdentify, p, &tasks.Thresholds{Match: 90, Partial: 60}, ""},
		{"no partial band", store.KindIdentify, p, &tasks.Thresholds{Match: 70, Partial: 70}, ""},
		{"verify", store.KindVerify, p, &tasks.Thresholds{Match: 90, Partial: 60}, "only identify jobs given a person"},
		{"no person", store.KindIdentify, nil, &tasks.Thresholds{Match: 90, Partial: 60}, "give the person too"},
		{"partial above match", store.KindIdentify, p, &tasks.Thresholds{Match: 60, Partial: 90}, "thresholds: the partial threshold (90) must not be above the match threshold (60)"},
		{"match over 100", store.KindIdentify, p, &tasks.Thresholds{Match: 101, Partial: 50}, "thresholds: the match threshold must be from 1 to 100, not 101"},
		{"zero", store.KindIdentify, p, &tasks.Thresholds{}, "thresholds: the match threshold must be from 1 to 100, not 0"},
	} {
		err := tasks.ValidateThresholds(c.kind, c.p, c.t)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
