package mx

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MX writes some enumerations as a name where its spec says so and as an
// integer where its guides and fixtures show it: the MFA guide's CHALLENGED
// status has a challenge with "type": 0 (docs.mx.com/products/connectivity/
// overview/mfa), and an MX fixture has a credential with "field_type": 3.
// The types below decode either shape. An integer MX documents a name for
// becomes that name; any other value, name or integer, is kept as MX wrote
// it (an integer as its decimal text), never refused: a new enumeration
// value must not fail a job that does not depend on it.

// ChallengeType is a challenge's type: TEXT, OPTIONS, TOKEN, IMAGE_DATA,
// IMAGE_OPTIONS, or whatever else MX sends.
type ChallengeType string

// Challenge types MX documents.
const (
	ChallengeText         ChallengeType = "TEXT"
	ChallengeOptions      ChallengeType = "OPTIONS"
	ChallengeToken        ChallengeType = "TOKEN"
	ChallengeImageData    ChallengeType = "IMAGE_DATA"
	ChallengeImageOptions ChallengeType = "IMAGE_OPTIONS"
)

// challengeTypeIDs are the integers MX documents for challenge types: only
// 0, a TEXT question ("What city were you born in?") in the MFA guide.
var challengeTypeIDs = map[int64]string{0: string(ChallengeText)}

// UnmarshalJSON reads a name, an integer or null.
func (t *ChallengeType) UnmarshalJSON(b []byte) error {
	*t = ChallengeType(decodeEnum(b, challengeTypeIDs))
	return nil
}

// FieldType is a credential's field_type (TEXT, PASSWORD, …). MX documents
// no names for its integers, so an integer is kept as its decimal text.
type FieldType string

// UnmarshalJSON reads a name, an integer or null.
func (t *FieldType) UnmarshalJSON(b []byte) error {
	*t = FieldType(decodeEnum(b, nil))
	return nil
}

// decodeEnum is the text of an enumeration value: a string as it is, an
// integer by names (else its decimal text), null as "", anything else as
// its compact JSON.
func decodeEnum(b []byte, names map[int64]string) string {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return ""
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			if name, ok := names[n]; ok {
				return name
			}
			return strconv.FormatInt(n, 10)
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		return buf.String()
	}
	return string(b)
}
