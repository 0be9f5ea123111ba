// Package mxsim is a stateful, in-memory simulator of the MX Platform API,
// versions v20250224 (current) and v20111101 (previous), for tests,
// benchmarks and demos:
//
//	sim := mxsim.New(mxsim.WithAggregationTime(50 * time.Millisecond))
//	hs := httptest.NewServer(sim)
//
// It writes MX's JSON itself, from MX's OpenAPI documents of both versions
// and MX's other documentation, and deliberately shares no code with the
// repository's MX client, so that the client can be checked against it and
// it can be checked against the specs. Where this documentation says
// "MX:", the behaviour is MX's, from the page named; "the simulator's own"
// marks what MX does not document and the simulator invented.
//
// # Versions
//
// The version is chosen per request by the Accept-Version header
// (VersionCurrent, VersionPrevious). MX: "After August 12, 2026, all
// Platform API calls must pass a new Accept-Version header"
// (docs.mx.com/api-reference/platform-api/overview/migration); both specs'
// operations declare it.
//
//	Accept-Version: v20250224  Accept absent, */*, application/*,
//	                           application/json or
//	                           application/vnd.mx.api.v1+json (else 406);
//	                           answers Content-Type application/json
//	Accept-Version: v20111101  Accept: application/vnd.mx.api.v1+json
//	                           required (else 406); answers that media type
//	no Accept-Version          406 {"error":{"message":"Accept-Version header
//	                           is required (e.g. v20250224)"}}, whatever
//	                           the Accept (v20111101's alone is not enough)
//	any other value            406, the message naming the value and the
//	                           supported versions
//
// MX's errors page (docs.mx.com/api-reference/platform-api/overview/errors)
// gives 406 for a missing or invalid API version. A request is checked in
// this order: faults (see Faults), HTTP basic auth (DefaultClientID:
// DefaultAPIKey unless WithAuth says otherwise; else 401), version (406),
// route (404). Errors are {"error":{"message":"..."}} with MX's status
// codes, in the media type of the request's version (application/json when
// it has none or an unknown one). Lists are paged with page and
// records_per_page (default 25, at least 10, above the maximum back to 25).
// The routes are users, institutions and their credentials, members
// (create, list, read, update, delete, status), the identify, verify and
// aggregate jobs, MFA challenges and resume, account owners, account
// numbers (by member and by account) and widget URLs. In v20250224 the
// paths' {user_identifier} and {member_identifier} take MX's guid or the
// partner-defined id (except where the v20250224 spec still says
// {user_guid}/{member_guid}: account numbers by member, widget URLs);
// v20111101 takes guids. Stats count a member's calls by the path segment
// as given.
//
// Every answer validates against the spec of the request's version
// (checked by this package's tests, and the client's, with MX's documents
// through internal/harness/mxspec), except three departures taken from MX's other
// documents, listed with their sources once, in mxspec.Departures: a TEXT challenge in the read
// member status (see MFA), createMember's 201 (v20250224), and 202 from a
// job endpoint whose job is already running (the spec declares verify's
// 200 only). GET …/challenges answers 204 without a body when the member
// is not CHALLENGED, as the spec says in prose.
//
// What differs between the versions:
//
//   - createMember. v20111101: {"member":{institution_code, credentials,
//     id, metadata, skip_aggregation, background_aggregation_is_disabled,
//     use_cases}, ...}; an aggregation starts unless skip_aggregation; 200.
//     v20250224: {"member":{institution_code, credentials, id, metadata,
//     is_oauth, background_aggregation_is_disabled, use_cases},
//     "data_request":{"products":[...]}, client_redirect_url,
//     enable_app2app, referral_source, ui_message_webview_url_scheme}.
//     Products are account_verification, identity_verification,
//     transactions, transaction_history, statements, investments, rewards
//     (another, or a data_request without products: 400). MX: "Once you
//     successfully create a member, MX will immediately validate the
//     provided credentials and attempt to aggregate data"; 200 created, no
//     aggregation; 201 created, a product of data_request failed; 202
//     created, aggregation requested
//     (docs.mx.com/api-reference/platform-api/reference/create-member). So
//     account_verification starts the verify job (the job of POST …/verify),
//     identity_verification the identify job, both the verify job (the
//     simulator's own: its results hold account numbers and owners alike),
//     any other products, or no data_request, a standard aggregation: 202.
//     A requested account_verification or identity_verification the
//     institution does not support: 201, the member created, no job for
//     that product (another requested product still starts its job; with
//     none, the member stays CREATED and idle). An empty products list
//     starts nothing: 200 (the simulator's own reading of MX's 200). A
//     member.skip_aggregation, whatever its value, is a 400
//     "skip_aggregation is not a field of v20250224; use
//     data_request.products" (the simulator's own strictness: the field is
//     not in v20250224's schema).
//   - updateMember. v20111101 honours skip_aggregation; v20250224 refuses
//     it (400, the simulator's own strictness) and new credentials always
//     start an aggregation (see Re-authentication).
//   - Institutions. v20111101's InstitutionResponse carries
//     supports_account_verification, supports_account_identification,
//     supports_account_statement and supports_transaction_history, and list
//     institutions filters on those booleans. v20250224's carries guid,
//     created_at, is_hidden and supported_products (an array of product
//     names) instead; its schema has no supports_account_* nor
//     supports_transaction_history, so they are not sent. List
//     institutions in v20250224 filters on supported_products (the spec's
//     array parameter: repeated, as supported_products[]=, or
//     comma-separated; values as the parameter's enum,
//     account_verification, identity_verification, transactions, history,
//     statements, investments, rewards, and transaction_history for
//     history; an institution must support every one; another value is a
//     400) and ignores the v20111101 booleans. Both versions search by name
//     (required here, the simulator's own strictness; a substring of the
//     name or url) and iso_country_code.
//   - requestWidgetURL. v20250224 takes data_request.products:
//     account_verification gives the verification mode, other products the
//     aggregation mode; without data_request, mode, which v20250224's
//     WidgetRequest still declares. include_identity,
//     include_transactions and disable_background_agg are declared by both
//     specs: accepted and ignored. A data_request in v20111101 is not a
//     field and is ignored.
//   - most_recent_job_guid: the guid of the member's latest job (JOB-…, or
//     null) in v20250224; null in v20111101, whose spec types it boolean.
//   - A user without an email has no email field in v20250224 (its schema
//     does not make email nullable) and email null in v20111101.
//
// # X-CALLBACK-PAYLOAD
//
// createMember, updateMember, verifyMember, aggregateMember,
// identifyMember and requestWidgetURL accept the optional request header
// X-CALLBACK-PAYLOAD, in both versions: base64 (standard or URL alphabet,
// padded or not; the spec's own example is a uuid), at most 1024
// characters; longer or not base64 is a 400. MX: "The X-CALLBACK-PAYLOAD
// header will appear if it was set in the Create Member or Update Member
// Platform API request that initiated this webhook"
// (docs.mx.com/resources/webhooks/member). The member remembers the
// payload of the request that started its current job (or none, when that
// request had none; a request that starts nothing, e.g. the same job
// already running, changes nothing), and every MEMBER and
// member_data_updated (VERIFICATION, AGGREGATION) webhook of that job,
// across its MFA rounds, carries the HTTP header X-CALLBACK-PAYLOAD with
// that value. CONNECTION_STATUS webhooks do not. The Connect widget's
// members have none.
//
// # Jobs
//
// A member records its job (kind, start, MFA round) and every read applies
// what the clock says has happened. A job or resume run lasts the
// aggregation time (WithAggregationTime, 2s by default; WithClock swaps the
// clock), or a seeded log-normal draw per institution and kind
// (WithAggregationDistribution, WithResumeDistribution, SimulatedTimes).
// Starting the job type that is already running (or waiting for
// MFA answers) is a no-op answered 202; another type gets 409 (MX's errors
// page). A premium job the institution does not support is a 400 ("Member's
// institution does not support instant account verification." / "…account
// identification."). A challenge left unanswered for the MFA window
// (WithMFAWindow; DefaultMFAWindow, 15m) turns EXPIRED. MX documents no
// window (EXPIRED: "MFA not answered within the FI's time limit"): 15m is
// the simulator's own, longer than the fleet's default challenge TTL
// (10m) plus a poll interval, so that MX never refuses as EXPIRED an
// answer the fleet still takes. Without WithWebhook there are no
// background goroutines; with it, see Webhooks.
//
// is_being_aggregated, in the member (create, read, list, update, job and
// resume answers), the member status and the MEMBER webhook, is whether
// the member has a job: true while a run is in progress and while the job
// waits CHALLENGED for answers, as MX's MFA guide shows it. A fleet must
// still treat CHALLENGED as waiting for the user. After answers: RESUMED
// with is_being_aggregated true, then CONNECTED (or REJECTED, CHALLENGED
// again, ...) with it false once no job is left.
//
// # MFA
//
// The read member status of a CHALLENGED member is what MX's MFA guide
// shows (docs.mx.com/products/connectivity/overview/mfa,
// docs.mx.com/aggregation/guides/mfa):
//
//	{"member":{"aggregated_at":"…","challenges":[{"field_name":null,
//	 "guid":"CRD-…","label":"What city were you born in?","type":0}],
//	 "connection_status":"CHALLENGED","guid":"MBR-…","is_authenticated":false,
//	 "is_being_aggregated":true,"successfully_aggregated_at":…,
//	 "has_processed_*":…}}
//
// A TEXT challenge there is exactly those four fields, type the integer 0
// and field_name null (the spec types type as a string: this is the one
// place the simulator follows MX's guide against it). Other types there
// (OPTIONS, IMAGE_DATA, IMAGE_OPTIONS, TOKEN), and every challenge of GET
// …/challenges, are the spec's ChallengeResponse with a string type
// ("TEXT", "OPTIONS", …) and field_name set; MX documents no other
// integers. Answer with PUT …/resume {"member":{"challenges":[{"guid",
// "value"}]}}, every outstanding challenge answered (else 400; 405 when
// not CHALLENGED); 202.
//
// # MX Bank
//
// Institution mxbank ("MX Bank") has MX Bank's login fields as MX shows
// them (guids from MX's SDK samples; field names, labels and types from
// the spec's CredentialResponse example):
//
//	guid CRD-9f61fb4c-912c-bd1e-b175-ccc7f0275cc1 field_name LOGIN
//	     label Username field_type TEXT type TEXT display_order 1
//	guid CRD-e3d7ea81-aac7-05e9-fbdd-4b493c6e474d field_name PASSWORD
//	     label Password field_type PASSWORD type PASSWORD display_order 2
//
// and so, with their own guids, do the other institutions: mxbank_noid
// ("MX Bank (no identification)", which supports verification only, not
// identity_verification), mxbank_noverify ("MX Bank (no verification)",
// identity_verification only: the simulator's own, for verify jobs that
// fall back to micro-deposits) and thirty "Filler Bank NN" for search paging
// (every third without identification, every fourth also offering OAuth,
// every fifth labelling its login field Email: MX's institutions overview,
// docs.mx.com/api-reference/platform-api/reference/institutions, names "An
// email and a password; A username and a password; OAuth" as connection
// methods; which bank has which is the simulator's own). mx_bank_oauth
// ("MX Bank (OAuth)", supports_oauth true, no credential fields) is MX's
// OAuth test institution: see OAuth. The simulator finds a member's
// username and password by the field names LOGIN and PASSWORD. supported
// products: account_verification and identity_verification as supported,
// transactions and transaction_history always.
//
// As with MX Bank (docs.mx.com/resources/test-platform/mxbank/), the
// outcome is chosen by the member's credentials, never by a global switch;
// switch scenarios by updating the password. With username mxuser the
// password picks it:
//
//	password         outcome                                        source
//	anything else    CONNECTED with 2 accounts (checking, savings), MX
//	                 one account number and one owner each
//	challenge        TEXT "What city were you born in?": correct ->  MX
//	                 CONNECTED, challenge -> a follow-up TEXT round
//	                 (then correct; MX's multi-round MFA example),
//	                 anything else -> REJECTED
//	options          OPTIONS, the option valued "correct"           MX
//	image            an image challenge, answer correct; sent as    MX
//	                 type IMAGE_DATA (MX's wire name UNCONFIRMED)
//	BAD_REQUEST      FAILED                                         MX
//	UNAUTHORIZED     DENIED                                         MX
//	challenge_again  TEXT answered correct comes back once with a   simulator
//	                 new TEXT question; correct again -> CONNECTED
//	two_step         OPTIONS (where to send a code; any option),    simulator
//	                 then TEXT "Enter the code we sent": 123456
//	image_options    IMAGE_OPTIONS, the option valued "correct"     simulator
//	                 (its value or its data_uri)
//	token            TOKEN, answer correct                          simulator
//	LOCKED           LOCKED                                         simulator
//	IMPEDED          IMPEDED                                        simulator
//	DISABLED         DISABLED                                       simulator
//	DEGRADED         the member's first job ends DEGRADED, later    simulator
//	                 ones CONNECTED
//	many             CONNECTED with 60 account numbers and 30       simulator
//	                 account owners
//
// Any other username is DENIED (the simulator's own). Usernames, passwords
// and typed MFA answers may carry a "+tag" suffix that the simulator
// ignores ("challenge+7f3a" reads as "challenge"), so tests can make every
// secret they send unique and then search for it in Redis and logs.
//
// Every user also has static test members, reachable by guid, not listed,
// modelled on the test members of MX's legacy Nexus API
// (docs.mx.com/nexus/test-endpoints; the Platform API has none, so they
// are the simulator's own here): test_nexus_member (2 account numbers, 2
// owners), unverified (owners, no account numbers) and unidentified
// (account numbers, no owners). They start CONNECTED and every job on them
// ends CONNECTED.
//
// # OAuth
//
// MX's OAuth guides (docs.mx.com/oauth/guides/introduction, …/workflow,
// docs.mx.com/resources/oauth-guide/oauth-in-browsers and
// …/oauth-in-mobile-apps) and requestOAuthWindowURI in both specs:
//
//   - mx_bank_oauth is "the only one OAuth institution available in the
//     integrations environment". An institution with supports_oauth takes
//     createMember with "is_oauth": true and no credentials (an empty array:
//     the specs require the field; any credential is a 400, MX: "you cannot
//     include end-user credentials"). is_oauth at an institution without
//     OAuth is a 400 (the simulator's own).
//   - The member is PENDING, is_oauth true, with an oauth_window_uri
//     <base>/_sim/oauth/<token> (read member and the create's answer show
//     it while PENDING, else null). The create's status is as without OAuth
//     (v20250224 202 with products, v20111101 200).
//   - GET …/oauth_window_uri answers {"member":{"guid","oauth_window_uri"}}
//     with a new window (MX: "oauth_window_uris are one-time use"; the older
//     one stops working at once), taking client_redirect_url (absolute URL,
//     else 400), enable_app2app (true/false, no effect: MX says it only
//     affects Chase), referral_source (BROWSER, the default, or APP, else
//     400), skip_aggregation and ui_message_webview_url_scheme. On a member
//     that is not OAuth: 400; on one that is not waiting for the end user
//     (approved, and not since DENIED or EXPIRED, or running a job): 409
//     (both the simulator's own). A DENIED or EXPIRED OAuth member is
//     PENDING again.
//   - GET /_sim/oauth/{token} (no auth, no faults) is the institution's
//     page: <form method="post"> with <button id="approve"> and one with
//     <button id="deny">, each posting decision=approve|deny to the same
//     URL. An unknown, used, replaced, expired or deleted member's token is
//     a 410 page with <p id="gone">.
//   - Approve: MX: "If successful, aggregation will automatically begin".
//     The member is CREATED (the simulator's own) and runs the job its
//     create asked for (v20250224: the data_request's products as for any
//     create, no data_request a standard aggregation; v20111101: a standard
//     aggregation unless member.skip_aggregation), with the create's
//     X-CALLBACK-PAYLOAD; it ends CONNECTED with results. skip_aggregation
//     on the window leaves it CREATED and idle, for verify or identify.
//     Until approval, verify, identify and aggregate are a 400 (the
//     simulator's own).
//   - Deny: DENIED, MX's oauthComplete/error reason DENIED ("The user was
//     unable to authenticate with the provider"); which connection_status
//     MX gives is not documented, DENIED is the simulator's reading.
//   - The end: with referral_source APP and a client_redirect_url, a 303 to
//     it with status=success|error, member_guid and (on error)
//     error_reason appended (MX: "We'll append to this URL information
//     about success/error as well as the member GUID"; the names are the
//     simulator's own). Otherwise MX's OAuth complete page: <h1
//     id="oauth-success"> or <h1 id="oauth-error"> with <span
//     id="error-reason">, posting {"type":"oauthComplete/success" or
//     "oauthComplete/error","metadata":{member_guid[,error_reason]}} to
//     window.opener or window.parent, and setting window.oauthComplete.
//   - A window lives WithOAuthWindow (DefaultOAuthWindow, 15 min; MX
//     documents none): unused by then, the member turns EXPIRED (the
//     simulator's own), with its webhooks.
//
// # Re-authentication
//
// PUT …/members/{member} with credentials replaces them on the same member
// (MX's MX Bank page: "Use the update member endpoint to set the
// appropriate password for your particular test case"; MX's update member
// reference: "An aggregation job will be initiated automatically when a
// member's credentials are updated unless the skip_aggregation field is
// used to prevent it"). v20111101 with skip_aggregation starts nothing; in
// v20250224 (no skip_aggregation) the update starts a standard aggregation,
// UPDATED while it runs, and a verify or identify meanwhile is MX's 409.
// The next job reads the new credentials: a DENIED member given MX Bank's
// good password connects on the same guid, no second member; Stats.Jobs
// counts the jobs on it. Creating a member again with the same credentials,
// or updating a member to the credentials of another member of the user at
// its institution (MX's "Creating a New Member" guide), is a 409 (MX: a
// member is a duplicate when it connects the same user to the same
// institution with the same credentials); the body carries only
// a message (whether MX's names the existing member is unconfirmed), so
// the caller finds the member by listing the user's members.
//
// # Scenarios
//
// Scenarios returns the table of end-to-end scenarios (also served at
// GET /_sim/scenarios), with what a fleet should conclude from each. Each
// says its Source: SourceMXDocs for the ones MX documents for MX Bank
// (success, challenge, challenge_followup, challenge_wrong, options, image,
// denied, bad_request; Doc is MX's page), so that they can be run against
// MX's integration environment too, SourceSimulator for the rest. A
// scenario's Credentials are keyed "username" and "password": they match
// the institution's credential labels case-insensitively, not its field
// names.
//
// # Webhooks
//
// WithWebhook(url) makes the simulator POST MX-style webhooks to url, as
// given (query string included), with Content-Type application/json;
// charset=utf-8 (and X-CALLBACK-PAYLOAD, see there). Each job run, and
// each parked challenge, then also arms a timer (time.AfterFunc: the
// aggregation time, or the MFA window) that applies the outcome under the
// lock by the same code as a read, so the
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
//	 "is_being_aggregated" (true only when CHALLENGED: the job waits),
//	 "aggregated_at","created_at"} (unix seconds)
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
// aggregation, MX's default; in v20250224 from data_request.products, see
// Versions), current_member_guid, current_institution_code and
// color_scheme. MX's URLs are "valid 10 minutes or one use"; the
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
//     type="password"> (each input is named by its field's label,
//     lower-cased), <button id="connect">; a refusal shows <div
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
// Every event is MX's shape, {"mx":true,"type":"mx/connect/…","metadata":{…}}
// (mxenabled/connect-widget's sendPostMessage), posted to window.parent and
// to window.opener at the referrer's origin ("*" without a referrer, the
// simulator's own, so that a top-level page gets its own events) and
// recorded in the array window.mxEvents (the simulator's own). Each
// metadata carries user_guid and the widget session's session_guid
// (minted per widget URL as SES-…, the simulator's own format) beside the
// fields mxenabled/widget-post-message-definitions
// (lib/post_message_definition.yml) gives the event: loaded {initial_step};
// stepChange {previous, current} on every later step change;
// selectedInstitution {code, guid, name, url}; enterCredentials
// {institution: {code, guid}} as the member is created; createMemberError
// {institution_guid, institution_code} when that is refused;
// memberStatusUpdate {member_guid, connection_status (the integer id)} when
// the status differs from the one seen before (none for the first, as
// connect-widget's Connecting.js); submitMFA {member_guid}; memberConnected
// {member_guid}; backToSearch {} on Back and on Try again. Events outside
// the definitions (connect-widget's memberError, initialDataReady) are not
// posted: MX's SDKs would report them as unknown.
//
// The page's JSON endpoints (application/json, MX's error shape; not MX's
// API, so no Accept-Version):
//
//	POST /_sim/connect/{token}/members
//	     {"institution_code":"mxbank","credentials":{"username":"..","password":".."}}
//	     (keyed by label or field_name, case-insensitively)
//	     createMember for the token's user (same checks and duplicate 409),
//	     then verifyMember (verification mode) or aggregateMember; 200
//	GET  /_sim/connect/{token}/members/{member_guid}
//	     the member's progress; 200 (not counted in Stats)
//	PUT  /_sim/connect/{token}/members/{member_guid}/resume
//	     {"answers":{"<challenge guid>":"<value>"}}: resumeAggregation; 202
//
// all answering {"member_guid","user_guid","institution_code",
// "institution_name","connection_status","connection_status_id",
// "is_being_aggregated","challenges":[as GET …/challenges', empty unless
// CHALLENGED]}, where is_being_aggregated is whether a run is in progress
// (false while CHALLENGED, unlike the API's). They are counted in Stats
// under the operationIds they stand for.
//
// # Micro-deposits
//
// createMicrodeposit, readUserMicrodeposit, listUserMicrodeposits,
// verifyMicrodeposit and deleteMicrodeposit, as MX documents them:
// INITIATED, REQUESTED after MicrodepositTiming.Refresh (MX refreshes
// every minute), DEPOSITED after .Deposit more (the integration
// environment's two minutes) for an account number beginning 3333,
// VERIFIED on the right amounts, PREVENTED at the third wrong attempt, a
// 404 once MX's 21-day soft delete (.Expiry) has passed; routing numbers
// checked by the ABA rules; MX's microdeposit webhook ("created",
// "updated"). Answers are application/json in both versions (v20111101's
// spec declares it for these operations). Sources, and what is the
// simulator's own (ERRORED for other account numbers, the amounts, verify
// in either order, the 409 of a verify that is not DEPOSITED), are in
// microdeposits.go.
//
// # Simulator endpoints
//
// Under /_sim/, without auth and without faults: GET scenarios, GET stats
// (calls per operationId and per member), POST reset-stats, GET and POST
// faults (latency, jitter, 5xx, 429 with Retry-After, dropped connections;
// see Faults), connect/{token}, the Connect widget a widget URL points
// to (see Connect widget), and oauth/{token}, the OAuth page an
// oauth_window_uri points to (see OAuth). GET micro_deposits/{guid} gives
// the two amounts deposited, {"guid","deposit_amount_1","deposit_amount_2"}
// (the simulator's own, so that a test can answer as the end user would;
// also Server.MicrodepositAmounts).
package mxsim
