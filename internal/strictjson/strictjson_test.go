package strictjson_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mxfleet/mxfleet/internal/strictjson"
)

func TestDecodeTypesEachRefusal(t *testing.T) {
	type target struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		in    string
		check func(error) bool
	}{
		{`{"a":1}`, func(err error) bool { return err == nil }},
		{`{"a":1,"b":2}`, func(err error) bool {
			var u *strictjson.UnknownFieldError
			return errors.As(err, &u) && u.Field == `"b"` && err.Error() == `unknown field "b"`
		}},
		{`{"a":1} {}`, func(err error) bool { return errors.Is(err, strictjson.ErrTrailing) }},
		{`{"a":`, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{`{"a":"x"}`, func(err error) bool { var e *json.UnmarshalTypeError; return errors.As(err, &e) }},
		{`{a}`, func(err error) bool { var e *json.SyntaxError; return errors.As(err, &e) }},
		{``, func(err error) bool { return errors.Is(err, io.EOF) }},
	} {
		var v target
		if err := strictjson.Decode(strings.NewReader(tc.in), &v); !tc.check(err) {
			t.Errorf("Decode(%q) = %v", tc.in, err)
		}
	}
}
