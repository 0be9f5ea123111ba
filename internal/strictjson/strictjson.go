// Package strictjson decodes one JSON object strictly (no unknown fields,
// no trailing data) and reports each kind of refusal as its own error type,
// so that callers match errors with errors.Is and errors.As, never by
// message. It is a leaf: it imports only the standard library.
package strictjson

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// ErrTrailing is data after the JSON object.
var ErrTrailing = errors.New("trailing data after the JSON object")

// UnknownFieldError is a field the target type does not have. Field is
// quoted as encoding/json quotes it.
type UnknownFieldError struct{ Field string }

func (e *UnknownFieldError) Error() string { return "unknown field " + e.Field }

// Decode reads one JSON value from r into v. Besides ErrTrailing and
// *UnknownFieldError it returns what encoding/json returns (*json.SyntaxError,
// *json.UnmarshalTypeError, io.EOF for no input) and the reader's own errors.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json gives an unknown field no error type: this is the
		// one place in the module that reads its message.
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &UnknownFieldError{Field: f}
		}
		return err
	}
	if dec.More() {
		return ErrTrailing
	}
	return nil
}
