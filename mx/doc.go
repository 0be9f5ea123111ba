// Package mx is a typed client for the MX Platform API (HTTP basic auth
// client_id:api_key), covering the calls an account-verification and
// account-owner identification fleet needs: users, institutions and their
// credentials, members (create, read, status, update, delete), identify,
// verify, aggregate, MFA challenges and resume, account owners, account
// numbers and Connect widget URLs.
//
// # Versions
//
// Every call sends Accept-Version (MX's migration guide: "After August 12,
// 2026, all Platform API calls must pass a new Accept-Version header") and
// the Accept its version documents: v20250224, the default (Accept:
// application/json), or v20111101 (Accept: application/vnd.mx.api.v1+json).
// See WithVersion. The bodies follow the version: in v20250224 a member is
// created with data_request.products and no skip_aggregation, institutions
// carry supported_products, widget URLs take data_request.products instead
// of mode and include_identity.
//
// Whether verify or identify must still be called after a v20250224 create
// with data_request.products: no. MX's create member reference
// (docs.mx.com/api-reference/platform-api/reference/create-member): "Once
// you successfully create a member, MX will immediately validate the
// provided credentials and attempt to aggregate data"; 202 "member created,
// aggregation requested", 201 "member created, but one or more products in
// data_request failed" (Member.ProductsFailed). MX's intro to unified
// product ordering: create member "initiate[s] the aggregation of any
// products specified in the request". The fleet therefore calls verify or
// identify only on members that already exist (given by guid, found after a
// duplicate 409, or restarted after DEGRADED or FAILED); their shapes are
// unchanged in v20250224, and MX answers a call for the job already running
// with 202 and starts nothing.
//
// # OAuth
//
// MX's OAuth workflow (docs.mx.com/oauth/guides/workflow): create the
// member with MemberCreate.IsOAuth (no credentials; sent as an empty array,
// which both specs require), send the end user to Member.OAuthWindowURI
// (or a fresh one from RequestOAuthWindowURI: "oauth_window_uris are
// one-time use"), and poll: the member is PENDING until the end user acts,
// then MX aggregates by itself and it ends CONNECTED. In v20250224 the
// create's data_request.products says what that aggregation yields; in
// v20111101 it is a standard aggregation unless SkipAggregation (or the
// window's OAuthOptions.SkipAggregation), after which the caller starts
// verify or identify itself. OAuthOptions carries the documented options
// of the create body and of the window query (client_redirect_url with
// referral_source APP, enable_app2app, ui_message_webview_url_scheme).
// Institution.SupportsOAuth tells which institutions take OAuth.
//
// # Re-authentication
//
// UpdateMemberCredentials gives a member new credentials (updateMember) on
// the same guid. MX starts an aggregation when credentials change "unless
// the skip_aggregation field is used to prevent it"
// (docs.mx.com/api-reference/nexus/reference/update-member): v20111101
// sends skip_aggregation true, so the verify or identify that follows is
// the only job. v20250224's MemberUpdateRequest has no skip_aggregation and
// no data_request, and MX's migration guide gives no replacement, so that
// aggregation cannot be avoided there: the caller waits until the member
// is no longer being aggregated (a verify meanwhile is MX's 409) and starts
// verify or identify if it connected.
//
// # Institutions
//
// ListInstitutions reads one page of a name search, SearchInstitutions
// iterates over every page, ReadInstitution reads one, and
// InstitutionCredentials lists the fields to ask for (field_name, label,
// field_type/type, display_order and guid: CredentialResponse has no
// options in either spec). Product filters and support follow the version
// (supported_products in v20250224, the supports_* booleans in v20111101;
// Institution.Supports reads either). MX recommends caching the
// institution list and credentials daily
// (docs.mx.com/api-reference/platform-api/reference/institutions).
//
// # Decoding
//
// MX's guides and fixtures show some enumerations as integers where the
// spec types strings (the MFA guide's challenge "type": 0): ChallengeType
// and FieldType decode both, and keep values they do not know.
//
// Every method takes a context first. Paged lists are iter.Seq2 iterators
// that fetch pages lazily; Collect drains one.
//
// # Errors and retries
//
// A call MX answers with a non-2xx status returns *Error (status, MX's code
// and message, Retry-After). IsRetriable tells transient failures (5xx, 429,
// 408, timeouts, broken connections) from permanent ones (IsPermanent: other
// 4xx); IsDuplicateMember spots createMember's 409, IsDuplicateUpdate
// updateMember's duplicate 409 (told from the running-job one by the
// member's is_being_aggregated). Errors never carry a
// request body, so credentials and MFA answers cannot leak through them, and
// error bodies are read through a 16 KiB cap.
//
// The client tries each call once and never sleeps between attempts (the
// fleet-wide rate limiter, WithLimiter, may hold a call about a second
// before it is sent). Retries live in exactly
// one layer, asynq: a handler returns the error, and the worker's retry delay
// (jittered exponential backoff that honours RetryAfter) reschedules the
// task, leaving the worker slot free for other jobs while MX recovers. Two
// layers would multiply attempts (client tries × task retries) and hide
// slots in sleeps; the handlers are written so that re-running a task from
// the top is safe.
//
// # Micro-deposits
//
// CreateMicrodeposit, ReadMicrodeposit, Microdeposits, VerifyMicrodeposit
// and DeleteMicrodeposit are MX's microdeposits operations (the same in
// both versions). A micro-deposit is PREINITIATED, INITIATED or REQUESTED
// while MX makes the deposits, DEPOSITED when the end user can read the
// two amounts, then, once MX has judged a pair (on a later read: the
// verify's answer may not show it yet), VERIFIED, DENIED (incorrect: MX
// takes another pair) or PREVENTED (the third incorrect pair); ERRORED,
// CONFLICTED and REJECTED end it too. What a status means for a job is
// package job's (ClassifyMD). A 404 for a
// micro-deposit the caller created is MX's 21-day soft delete
// (MicrodepositGone). Account and routing numbers and amounts are masked
// in strings, zerolog objects and errors. Sources are in microdeposits.go.
//
// # Connection statuses
//
// Classify maps a connection_status and is_being_aggregated to an Outcome.
// While is_being_aggregated is true, every status but CHALLENGED is
// InProgress. Otherwise:
//
//	id status        outcome       meaning
//	 0 CREATED       in_progress   new member, not aggregated yet
//	 1 PREVENTED     failed        MX stopped after 3 failed credential attempts
//	 2 DENIED        failed        credentials refused by the institution
//	 3 CHALLENGED    needs_user    MFA challenge waiting for the end user
//	 4 REJECTED      failed        MFA answer refused
//	 5 LOCKED        failed        the institution locked the account
//	 6 CONNECTED     succeeded     authenticated and aggregated
//	 7 IMPEDED       failed        the user must act on the institution's site
//	 8 RECONNECTED   in_progress   moved to a new data source
//	 9 DEGRADED      retry_later   repeated failures at the institution
//	10 DISCONNECTED  retry_later   failing for two weeks
//	11 DISCONTINUED  failed        MX no longer supports the institution
//	12 CLOSED        failed        the member was closed
//	13 DELAYED       in_progress   slower than usual (bounded by the job deadline)
//	14 FAILED        retry_later   failed without connecting
//	15 UPDATED       in_progress   credentials updated
//	16 DISABLED      failed        aggregation disabled for this member
//	17 IMPORTED      failed        MX holds no credentials
//	18 RESUMED       in_progress   MFA answer being checked
//	19 EXPIRED       failed        MFA not answered in time
//	20 IMPAIRED      failed        required credentials missing
//	21 PENDING       in_progress   OAuth not completed (bounded by the deadline)
//	   (null)        failed        no credentials: reason no_connection_status
//
// A failed outcome's Reason is the lower-cased status, which the fleet uses
// as the job's error code.
package mx
