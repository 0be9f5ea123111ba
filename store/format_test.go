package store_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/mxfleet/mxfleet/store"
)

// A record as the version before package job wrote it (store.Job held
// every field and mx's challenge type) reads into today's record and is
// written back with the same fields and values: jobs in flight during a
// rolling deploy keep their state.
func TestRecordsOfThePreviousVersionReadTheSame(t *testing.T) {
	old := `{"id":"j1","kind":"verify","state":"challenged","connection_status":"CHALLENGED","user_guid":"USR-1",
	"member_guid":"MBR-1","institution_code":"mxbank","follow":true,"callback_url":"https://cb.example/x","callback_results":true,
	"challenges":[{"guid":"CRD-1","label":"Pick","field_name":"f","type":"OPTIONS","image_data":"data:x",
	  "options":[{"guid":"OPT-1","label":"A","value":"a"}],"image_options":[{"guid":"IMG-1","label":"B","value":"b","data_uri":"data:y"}]}],
	"result_sealed":"v1.k.abc","error":{"code":"c","message":"m"},"polls":3,"created_at":"2026-11-29T10:00:00Z",
	"updated_at":"2026-11-29T10:01:00Z","round":1,"attempt":2,"triggered":2,"triggered_at":"2026-11-29T10:00:30Z",
	"saw_running":true,"poll_mark":1,"deadline":"2026-11-29T10:15:00Z","challenge_exp":"2026-11-29T10:11:00Z",
	"parked_at":"2026-11-29T10:01:00Z","resume_claim":"a1","resume_by":"answer:j1:a1","answered":["CRD-0"],"resume_sent":true,
	"last_refused_answer":{"answer_id":"a0","reason":"r","at":"2026-11-29T10:00:50Z"}}`
	var j store.Job
	if err := json.Unmarshal([]byte(old), &j); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&j)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal([]byte(old), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, _ := json.Marshal(want[k])
		g, _ := json.Marshal(got[k])
		if string(w) != string(g) {
			t.Errorf("field %s: wrote %s, read %s", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields written %v, read %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	res := `{"account_numbers":[{"guid":"ACN-1","account_guid":"ACT-1","member_guid":"MBR-1","user_guid":"USR-1",
	"account_number":"1","routing_number":"2","institution_number":"3","transit_number":"4","passed_validation":true,
	"loan_guarantor":"5","loan_reference_number":"6","sequence_number":"7"}],"account_owners":[{"guid":"ACO-1",
	"account_guid":"ACT-1","member_guid":"MBR-1","user_guid":"USR-1","owner_name":"A B","first_name":"A","last_name":"B",
	"address":"x","city":"c","state":"s","postal_code":"p","country":"US","email":"e","phone":"t"}]}`
	var r store.Result
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(&r)
	var rw, rg any
	_ = json.Unmarshal([]byte(res), &rw)
	_ = json.Unmarshal(b, &rg)
	if w, g := must(json.Marshal(rw)), must(json.Marshal(rg)); string(w) != string(g) {
		t.Errorf("result written %s, read %s", g, w)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
