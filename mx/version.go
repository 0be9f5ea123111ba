package mx

import (
	"fmt"
	"strings"
)

// Version is an MX Platform API version, sent as Accept-Version on every
// call. MX's migration guide: "After August 12, 2026, all Platform API
// calls must pass a new Accept-Version header"
// (docs.mx.com/api-reference/platform-api/overview/migration).
type Version string

// The versions the client speaks. V20250224 is MX's current version and the
// default; V20111101 is the previous one, still supported by MX until its
// sunset (docs.mx.com/api-reference/platform-api/overview/versioning).
const (
	V20250224 Version = "v20250224"
	V20111101 Version = "v20111101"

	DefaultVersion = V20250224
)

// Versions lists the versions the client speaks, newest first.
var Versions = []Version{V20250224, V20111101}

// ParseVersion reads a version name ("v20250224"; the "v" may be left out).
// Anything else is an error naming the supported versions.
func ParseVersion(s string) (Version, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v != "" && !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	for _, known := range Versions {
		if Version(v) == known {
			return known, nil
		}
	}
	return "", fmt.Errorf("mx: API version %q is not one this client speaks (%s, %s)", s, V20250224, V20111101)
}

// Accept is the Accept header MX documents for the version: v20250224's
// spec shows "Accept: application/json" with "Accept-Version: v20250224";
// v20111101 names itself in the media type.
func (v Version) Accept() string {
	if v == V20111101 {
		return "application/vnd.mx.api.v1+json"
	}
	return "application/json"
}

// Products MX's unified product ordering names (v20250224,
// docs.mx.com/products/connectivity/overview/intro-to-unified-product-ordering).
const (
	ProductAccountVerification  = "account_verification"
	ProductIdentityVerification = "identity_verification"
	ProductTransactions         = "transactions"
	ProductTransactionHistory   = "transaction_history"
	ProductStatements           = "statements"
	ProductInvestments          = "investments"
	ProductRewards              = "rewards"
)

// DataRequest is v20250224's data_request: the products a create member or
// a widget URL asks MX to aggregate.
type DataRequest struct {
	Products []string `json:"products"`
}
