package mx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Base URLs of MX's environments.
const (
	IntegrationURL = "https://int-api.mx.com"
	ProductionURL  = "https://api.mx.com"
)

// maxBody caps a success response; MX's largest pages (1000 records) are
// far below it.
const maxBody = 32 << 20

// Client calls the MX Platform API. It is safe for concurrent use. Build it
// with New; the zero value is not usable.
//
// The client makes exactly one attempt per call and never sleeps between
// attempts; the one wait in place is the fleet-wide rate limiter's
// (WithLimiter), at most about a second. Retries of transient failures
// belong to asynq, which reschedules the task with
// jittered backoff (honouring Retry-After, see RetryAfter) and keeps the
// worker slot free meanwhile. Every handler step is safe to run twice, so a
// retried task resumes where the job stands.
type Client struct {
	base      *url.URL
	version   Version
	clientID  string
	apiKey    string
	hc        *http.Client
	userAgent string
	log       zerolog.Logger
	limiter   Limiter
	observe   func(op string, status int, took time.Duration, err error)
}

// Limiter paces calls to MX across the whole fleet.
type Limiter interface {
	// Wait returns when a call may go (nil), or an error (*Throttled when
	// the wait would be long) without calling MX.
	Wait(ctx context.Context) error
	// Pause stops every caller for d (MX answered 429 with Retry-After).
	Pause(ctx context.Context, d time.Duration) error
}

// WithLimiter paces every call through l.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error { c.limiter = l; return nil }
}

// WithObserver calls fn after every call with the operation, the HTTP
// status (0 without an answer), the duration and the error (for metrics).
func WithObserver(fn func(op string, status int, took time.Duration, err error)) Option {
	return func(c *Client) error { c.observe = fn; return nil }
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API host (default IntegrationURL).
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("mx: base URL %q must be http(s)://host[/path]", raw)
		}
		if u.User != nil {
			return errors.New("mx: base URL must not carry credentials; use WithCredentials")
		}
		c.base = u
		return nil
	}
}

// WithVersion sets the API version every call asks for (default
// DefaultVersion, v20250224).
func WithVersion(v Version) Option {
	return func(c *Client) error {
		pv, err := ParseVersion(string(v))
		if err != nil {
			return err
		}
		c.version = pv
		return nil
	}
}

// WithCredentials sets the client id and API key sent as HTTP basic auth.
func WithCredentials(clientID, apiKey string) Option {
	return func(c *Client) error { c.clientID, c.apiKey = clientID, apiKey; return nil }
}

// WithHTTPClient sets the HTTP client (default: a 30s timeout over a
// transport that keeps up to 100 idle connections to MX, see
// DefaultTransport).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error { c.hc = hc; return nil }
}

// WithTimeout sets a per-request timeout on the HTTP client.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		hc := *c.hc
		hc.Timeout = d
		c.hc = &hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithLogger sets the logger; requests are logged at debug level with
// operation, status and duration only, never bodies or headers.
func WithLogger(l zerolog.Logger) Option {
	return func(c *Client) error { c.log = l; return nil }
}

// DefaultTransport is http.DefaultTransport keeping up to 100 idle
// connections per host instead of 2: a worker runs tens of MX calls at
// once, and with 2 idle slots most calls would open (and TLS-handshake) a
// new connection to MX and close it afterwards.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 200, 100
	return t
}

// New builds a Client. A client id and API key are required.
func New(opts ...Option) (*Client, error) {
	base, _ := url.Parse(IntegrationURL)
	c := &Client{
		base:      base,
		version:   DefaultVersion,
		hc:        &http.Client{Timeout: 30 * time.Second, Transport: DefaultTransport()},
		userAgent: "mxfleet",
		log:       zerolog.Nop(),
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.clientID == "" || c.apiKey == "" {
		return nil, errors.New("mx: client id and API key are required (WithCredentials)")
	}
	return c, nil
}

// do sends one request and decodes a 2xx body into out (when non-nil).
// It returns the HTTP status so that callers can tell 200 from 204.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, in, out any, hdr http.Header) (status int, err error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			var th *Throttled
			if !errors.As(err, &th) && ctx.Err() == nil {
				// The limiter's own store failed (Redis restarting, loading):
				// that is a reason to try later, not a verdict on the call.
				err = &Throttled{Wait: time.Second, Reason: "the fleet-wide rate limiter is unavailable: " + err.Error()}
			}
			return 0, fmt.Errorf("mx: %s: %w", op, err)
		}
	}
	if c.observe != nil {
		start := time.Now()
		defer func() { c.observe(op, status, time.Since(start), err) }()
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("mx: %s: encode request: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("mx: %s: %w", op, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.SetBasicAuth(c.clientID, c.apiKey)
	req.Header.Set("Accept", c.version.Accept())
	req.Header.Set("Accept-Version", string(c.version))
	req.Header.Set("User-Agent", c.userAgent)
	// Every POST and PUT says its body is JSON, also the bodyless ones
	// (verify, identify): MX's general errors page warns that a POST or
	// PUT without Content-Type may be answered 404.
	if in != nil || method == http.MethodPost || method == http.MethodPut {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.Debug().Str("op", op).Dur("took", time.Since(start)).Err(err).Msg("mx call failed")
		// url.Error names method and URL; ours carry only guids and codes.
		return 0, fmt.Errorf("mx: %s: %w", op, err)
	}
	defer resp.Body.Close()
	c.log.Debug().Str("op", op).Int("status", resp.StatusCode).Dur("took", time.Since(start)).Msg("mx call")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := newError(op, resp)
		e.Message = capMessage(scrub(e.Message, in))
		if e.StatusCode == http.StatusTooManyRequests && c.limiter != nil {
			pause := e.RetryAfter
			if pause <= 0 {
				pause = time.Second // MX documents no Retry-After: back off a little fleet-wide
			}
			if err := c.limiter.Pause(ctx, pause); err != nil {
				c.log.Warn().Str("op", op).Err(err).Msg("could not pause MX calls fleet-wide")
			}
		}
		return resp.StatusCode, e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("mx: %s: decode %d response: %w", op, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// Version is the API version the client asks for.
func (c *Client) Version() Version { return c.version }

func seg(s string) string { return url.PathEscape(s) }

func memberPath(userGUID, memberGUID string) string {
	return "/users/" + seg(userGUID) + "/members/" + seg(memberGUID)
}

// pageSize is what list iterators ask for: few round trips, small pages.
const pageSize = 100

// list returns an iterator over every record of a paged list, fetching
// pages lazily. key names the list in MX's envelope ("account_numbers").
// A 204 (MX's "nothing here", e.g. challenges of an unchallenged member)
// ends the iteration.
func list[T any](c *Client, ctx context.Context, op, path, key string, q url.Values, perPage int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if q == nil {
			q = url.Values{}
		}
		if perPage == 0 {
			perPage = pageSize
		}
		q.Set("records_per_page", strconv.Itoa(perPage))
		for page := 1; ; page++ {
			q.Set("page", strconv.Itoa(page))
			var env map[string]json.RawMessage
			status, err := c.do(ctx, op, http.MethodGet, path, q, nil, &env, nil)
			if err != nil {
				yield(zero, err)
				return
			}
			if status == http.StatusNoContent {
				return
			}
			var items []T
			if err := json.Unmarshal(env[key], &items); err != nil && len(env[key]) > 0 {
				yield(zero, fmt.Errorf("mx: %s: decode %s: %w", op, key, err))
				return
			}
			var p Pagination
			if raw, ok := env["pagination"]; ok {
				if err := json.Unmarshal(raw, &p); err != nil {
					yield(zero, fmt.Errorf("mx: %s: decode pagination: %w", op, err))
					return
				}
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if len(items) == 0 || p.TotalPages <= page {
				return
			}
		}
	}
}

// Collect drains an iterator into a slice, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
