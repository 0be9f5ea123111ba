package job

import (
	"strings"
	"testing"
)

func TestMapCredentials(t *testing.T) {
	// MX Bank's fields as MX documents them (the spec's example and MX's
	// SDK samples).
	mxbank := []Field{
		{GUID: "CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1", FieldName: "LOGIN", Label: "Username"},
		{GUID: "CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d", FieldName: "PASSWORD", Label: "Password"},
	}
	spaced := []Field{{GUID: "CRD-a", FieldName: "LOGIN", Label: "User Name"}, {GUID: "CRD-b", FieldName: "PIN", Label: "PIN"}}
	for _, c := range []struct {
		name   string
		fields []Field
		given  map[string]string
		code   string
		want   []string // values in field order
		msg    []string // the error message names these
	}{
		{"by label", mxbank, map[string]string{"username": "mxuser", "password": "p1"}, "", []string{"mxuser", "p1"}, nil},
		{"by field name", mxbank, map[string]string{"LOGIN": "mxuser", "Password": "p2"}, "", []string{"mxuser", "p2"}, nil},
		{"by guid", mxbank, map[string]string{"CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1": "mxuser", "password": "p3"}, "", []string{"mxuser", "p3"}, nil},
		{"label ignoring case and spaces", spaced, map[string]string{"username": "u", "pin": "1234"}, "", []string{"u", "1234"}, nil},
		{"label with its spaces", spaced, map[string]string{"User Name": "u", " PIN ": "1234"}, "", []string{"u", "1234"}, nil},
		{"unknown name", mxbank, map[string]string{"username": "u", "password": "p", "pin": "1"}, CodeUnknownCredential, nil,
			[]string{`"pin"`, "fields: Username (LOGIN), Password"}},
		{"missing", mxbank, map[string]string{"username": "u"}, CodeMissingCredential, nil, []string{"credential Password is required"}},
		{"same field twice", mxbank, map[string]string{"username": "u", "LOGIN": "v", "password": "p"}, CodeUnknownCredential, nil, []string{"both name field Username (LOGIN)"}},
		{"an OAuth institution (no fields)", nil, map[string]string{"username": "u"}, CodeUnknownCredential, nil, []string{"uses OAuth", "member.oauth"}},
		{"empty name", mxbank, map[string]string{"": "x", "username": "u", "password": "p"}, CodeUnknownCredential, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, mis := MapCredentials(c.fields, c.given)
			code, msg := "", ""
			if mis != nil {
				code, msg = mis.code, mis.Error()
			}
			if code != c.code {
				t.Fatalf("code %q (%s), want %q", code, msg, c.code)
			}
			for _, v := range c.given {
				if len(v) > 2 && strings.Contains(msg, v) {
					t.Errorf("message %q carries a value", msg)
				}
			}
			for _, m := range c.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
			if c.code == "" && strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("values %q, want %q", got, c.want)
			}
		})
	}
}
