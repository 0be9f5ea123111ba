// Package mxsim is a stateful, in-memory simulator of the MX Platform API,
// version v20111101, for tests, benchmarks and demos:
//
//	sim := mxsim.New(mxsim.WithAggregationTime(50 * time.Millisecond))
//	hs := httptest.NewServer(sim)
//
// It writes MX's JSON itself, from MX's OpenAPI document, and deliberately
// shares no code with the repository's MX client, so that the client can be
// checked against it and it can be checked against the spec.
//
// # Protocol
//
// Every API route wants HTTP basic auth (DefaultClientID:DefaultAPIKey unless
// WithAuth says otherwise; else 401) and Accept: application/vnd.mx.api.v1+json
// (else 406). Answers carry that media type; errors are
// {"error":{"message":"..."}} with MX's status codes. Lists are paged with
// page and records_per_page (default 25, at least 10, above the maximum back
// to 25). The routes are users, institutions and their credentials,
// members (create, list, read, update, delete, status), the identify, verify
// and aggregate jobs, MFA challenges and resume, account owners, account
// numbers (by member and by account) and widget URLs.
//
// # Jobs
//
// There are no background goroutines: a member records its running job
// (kind, start, MFA round) and every read applies what the clock says has
// happened. A job or resume run lasts the aggregation time (WithAggregationTime,
// 2s by default; WithClock swaps the clock). Starting the job type that is
// already running is a no-op; another type gets 409. A challenge left
// unanswered for the MFA window (WithMFAWindow, 5m) turns EXPIRED.
//
// # Scenarios
//
// As with MX's test bank, the outcome is chosen by the member's credentials,
// never by a global switch. Institution mxbank ("MX Bank") supports
// verification and identification; mxbank_noid supports verification only;
// thirty "Filler Bank NN" institutions exist for search paging. With username
// mxuser (any other username is DENIED), the password picks the scenario:
//
//	password         outcome
//	challenge        TEXT "What city were you born in?": correct -> CONNECTED,
//	                 challenge -> a follow-up TEXT round (then correct),
//	                 anything else -> REJECTED
//	challenge_again  TEXT answered correct comes back once with a new TEXT
//	                 question; correct again -> CONNECTED
//	options          OPTIONS, the option valued "correct" -> CONNECTED
//	two_step         OPTIONS (where to send a code; any option), then TEXT
//	                 "Enter the code we sent": 123456 -> CONNECTED
//	image            IMAGE_DATA, answer correct
//	image_options    IMAGE_OPTIONS, the option valued "correct" (its value
//	                 or its data_uri)
//	token            TOKEN, answer correct
//	UNAUTHORIZED     DENIED
//	LOCKED           LOCKED
//	IMPEDED          IMPEDED
//	DISABLED         DISABLED
//	BAD_REQUEST      FAILED
//	DEGRADED         the member's first job ends DEGRADED, later ones CONNECTED
//	many             CONNECTED with 60 account numbers and 30 account owners
//	anything else    CONNECTED with 2 accounts (checking, savings), one
//	                 account number and one owner each
//
// Usernames, passwords and typed MFA answers may carry a "+tag" suffix that
// the simulator ignores ("challenge+7f3a" reads as "challenge"), so tests
// can make every secret they send unique and then search for it in Redis
// and logs.
//
// Every user also has MX's documented test members (reachable by guid, not
// listed): test_nexus_member (2 account numbers, 2 owners), unverified
// (owners, no account numbers) and unidentified (account numbers, no
// owners). They start CONNECTED and every job on them ends CONNECTED.
//
// Scenarios returns the table of end-to-end scenarios (also served at
// GET /_sim/scenarios), with what a fleet should conclude from each.
//
// # Simulator endpoints
//
// Under /_sim/, without auth and without faults: GET scenarios, GET stats
// (calls per operationId and per member), POST reset-stats, GET and POST
// faults (latency, jitter, 5xx, 429 with Retry-After, dropped connections;
// see Faults), and GET connect/{token}, the page a widget URL points to.
package mxsim
