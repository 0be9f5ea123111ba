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
// A member records its running job (kind, start, MFA round) and every read
// applies what the clock says has happened. A job or resume run lasts the
// aggregation time (WithAggregationTime, 2s by default; WithClock swaps the
// clock). Starting the job type that is already running is a no-op; another
// type gets 409. A challenge left unanswered for the MFA window
// (WithMFAWindow, 5m) turns EXPIRED. Without WithWebhook there are no
// background goroutines; with it, see Webhooks.
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
// # Webhooks
//
// WithWebhook(url) makes the simulator POST MX-style webhooks to url, as
// given (query string included), with Content-Type application/json;
// charset=utf-8. Each job run, and each parked challenge, then also arms a
// timer (time.AfterFunc: the aggregation time, or the MFA window) that
// applies the outcome under the lock by the same code as a read, so the
// webhooks go out whether or not anybody reads the member, and exactly once
// whoever applies the outcome first. (On a WithClock clock the timers fire
// on real time and apply only what that clock says; reads then do the rest.)
// Deliveries are best-effort: one attempt, 5s timeout, in order, from one
// goroutine outside the lock; Stats counts them as calls "webhook_sent"
// and "webhook_failed" (an error or a non-2xx answer). Each applied outcome
// sends
//
//	{"type":"MEMBER","action":"UPDATED","guid","member_guid","user_guid",
//	 "user_id","id" (the member's partner id or null),"institution_code",
//	 "connection_status","connection_status_id","connection_status_message",
//	 "is_being_aggregated":false,"aggregated_at","created_at"} (unix seconds)
//
// then, for CHALLENGED, DENIED, EXPIRED, IMPAIRED, IMPEDED, LOCKED,
// PREVENTED and REJECTED,
//
//	{"type":"CONNECTION_STATUS","action":"CHANGED","member_guid","user_guid",
//	 "connection_status","connection_status_id","connection_status_message"}
//
// and, when a verify or aggregate ends CONNECTED,
//
//	{"type":"VERIFICATION" or "AGGREGATION","action":"member_data_updated",
//	 "member_guid","user_guid","user_id","accounts":[account guids],
//	 "completed_at" (unix),"completed_on":"YYYY-MM-DD"}
//
// with "is_background":false on AGGREGATION. connection_status_id is MX's
// integer id (CREATED 0, PREVENTED 1, DENIED 2, CHALLENGED 3, REJECTED 4,
// LOCKED 5, CONNECTED 6, IMPEDED 7, RECONNECTED 8, DEGRADED 9, DISCONNECTED
// 10, DISCONTINUED 11, CLOSED 12, DELAYED 13, FAILED 14, UPDATED 15,
// DISABLED 16, IMPORTED 17, RESUMED 18, EXPIRED 19, IMPAIRED 20, PENDING 21).
// Server.Close stops the timers, drops queued webhooks, aborts one in flight
// and waits for the sender; nothing is sent after it returns, while the API
// keeps working lazily. Close is idempotent.
//
// # Connect widget
//
// POST /users/{user_guid}/widget_urls answers <base>/_sim/connect/<token>.
// The token remembers the user and the request's mode (verification, else
// aggregation, MX's default), current_member_guid, current_institution_code
// and color_scheme. MX's URLs are "valid 10 minutes or one use"; the
// simulator's page can be loaded, and reloaded, until 10 minutes after the
// request (then, or for an unknown token or deleted user, a 404 page), and
// its JSON endpoints accept the token for an hour so that a session under
// way can finish. Neither wants basic auth (the token is the credential) and
// neither is subject to faults.
//
// GET /_sim/connect/{token} is a self-contained page (inline CSS and JS,
// titled "MX Connect (simulated)") that behaves like MXconnect. Each step's
// elements exist only while it is shown:
//
//   - institutions: <button data-institution="mxbank"> (and mxbank_noid);
//     skipped when the token has a current_institution_code, and when it has
//     a current_member_guid the page goes straight to that member's progress
//   - credentials: <input name="username">, <input name="password"
//     type="password">, <button id="connect">; a refusal shows <div
//     id="error">
//   - progress: <div id="progress" data-status="...">, polled every 300ms
//   - MFA: TEXT, TOKEN and IMAGE_DATA as <input data-challenge="guid"> with
//     <button id="submit-mfa">; OPTIONS and IMAGE_OPTIONS as <button
//     data-challenge="guid" data-value="value"> (a click answers)
//   - success (CONNECTED, not aggregating): <div id="connected"
//     data-member-guid="...">; any other end: <div id="failed"
//     data-status="..."> (NOT_FOUND for an unknown member) and <button
//     id="retry">
//
// Every event goes to window.parent.postMessage(event, "*") (the page itself
// when it is top-level), to window.opener when there is one, and onto the
// array window.mxEvents: {"type":"mx/connect/loaded","metadata":{user_guid,
// session_guid,initial_step}}, mx/connect/selectedInstitution {code, guid,
// name, url}, mx/connect/memberStatusUpdate {user_guid, member_guid,
// connection_status (the integer id)} on every status change, and
// mx/connect/memberConnected {user_guid, member_guid}.
//
// The page's JSON endpoints (application/json, MX's error shape):
//
//	POST /_sim/connect/{token}/members
//	     {"institution_code":"mxbank","credentials":{"username":"..","password":".."}}
//	     createMember for the token's user (same checks and duplicate 409),
//	     then verifyMember (verification mode) or aggregateMember; 200
//	GET  /_sim/connect/{token}/members/{member_guid}
//	     the member's progress; 200 (not counted in Stats)
//	PUT  /_sim/connect/{token}/members/{member_guid}/resume
//	     {"answers":{"<challenge guid>":"<value>"}}: resumeAggregation; 202
//
// all answering {"member_guid","user_guid","institution_code",
// "institution_name","connection_status","connection_status_id",
// "is_being_aggregated","challenges":[as the API's, empty unless
// CHALLENGED]}. They are counted in Stats under the operationIds they
// stand for.
//
// # Simulator endpoints
//
// Under /_sim/, without auth and without faults: GET scenarios, GET stats
// (calls per operationId and per member), POST reset-stats, GET and POST
// faults (latency, jitter, 5xx, 429 with Retry-After, dropped connections;
// see Faults), and connect/{token}, the Connect widget a widget URL points
// to (see Connect widget).
package mxsim
