package match_test

import (
	"fmt"

	"github.com/mxfleet/mxfleet/match"
)

func ExampleCompareAll() {
	upstream := match.Person{
		Name:    "Robert J. Smith",
		Address: match.Address{Street: "123 N Main St Apt 4", City: "Austin", State: "Texas", PostalCode: "78701"},
		Phone:   "(555) 123-4567",
		Email:   "Bob.Smith@Example.com",
	}
	owners := []match.Person{
		{Name: "JANE SMITH", Address: match.Address{Street: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234"}},
		{Name: "SMITH, BOB", Address: match.Address{Street: "123 North Main Street #4", City: "AUSTIN", State: "TX", PostalCode: "78701-1234"}, Phone: "555.123.4567"},
	}
	o := match.CompareAll(upstream, owners)
	for i, r := range o.Owners {
		fmt.Printf("owner %d: %d %s, name %d, address %d, not compared %v\n", i, r.Score, r.Verdict,
			r.Field(match.FieldName).Score, r.Field(match.FieldAddress).Score, r.NotCompared)
	}
	fmt.Println("best:", o.Best)
	// Output:
	// owner 0: 71 partial, name 50, address 100, not compared [phone email]
	// owner 1: 98 match, name 95, address 100, not compared [email]
	// best: 1
}
