package mxsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Faults makes the API misbehave. Each API request draws its faults at
// random; the /_sim/ routes never fail. In JSON, durations are Go duration
// strings ("50ms", "1s"); a bare number is read as nanoseconds.
type Faults struct {
	Latency       time.Duration `json:"latency"`         // added to every API call
	Jitter        time.Duration `json:"jitter"`          // extra uniform random latency in [0, Jitter)
	ErrorRate     float64       `json:"error_rate"`      // fraction answered 500/502/503 with an MX error body
	RateLimitRate float64       `json:"rate_limit_rate"` // fraction answered 429 with Retry-After
	RetryAfter    time.Duration `json:"retry_after"`     // Retry-After of a 429, in whole seconds (at least 1)
	DropRate      float64       `json:"drop_rate"`       // fraction of connections closed without an answer
	// ForbiddenRate: fraction answered 403 before any other check, as MX
	// answers a caller whose IP address is not on the client's allowlist
	// (MX's docs, seed docs/mx-api.md: "A non-whitelisted IP gets 403").
	// The message and drawing it per call are the simulator's own test
	// fault; 1 is a machine MX has not allowlisted.
	ForbiddenRate float64 `json:"forbidden_rate"`
}

// duration is a time.Duration that reads and writes JSON as "1.5s".
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = 0
	case float64:
		*d = duration(v)
	case string:
		if v == "" {
			*d = 0
			return nil
		}
		p, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*d = duration(p)
	default:
		return fmt.Errorf("duration must be a string such as \"50ms\", got %s", b)
	}
	return nil
}

type faultsJSON struct {
	Latency       duration `json:"latency"`
	Jitter        duration `json:"jitter"`
	ErrorRate     float64  `json:"error_rate"`
	RateLimitRate float64  `json:"rate_limit_rate"`
	RetryAfter    duration `json:"retry_after"`
	DropRate      float64  `json:"drop_rate"`
	ForbiddenRate float64  `json:"forbidden_rate"`
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{duration(f.Latency), duration(f.Jitter), f.ErrorRate,
		f.RateLimitRate, duration(f.RetryAfter), f.DropRate, f.ForbiddenRate})
}

// UnmarshalJSON reads durations as Go duration strings (or nanoseconds).
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Faults{time.Duration(j.Latency), time.Duration(j.Jitter), j.ErrorRate,
		j.RateLimitRate, time.Duration(j.RetryAfter), j.DropRate, j.ForbiddenRate}
	return nil
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{"error_rate": f.ErrorRate, "rate_limit_rate": f.RateLimitRate, "drop_rate": f.DropRate, "forbidden_rate": f.ForbiddenRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s must be between 0 and 1", name)
		}
	}
	if f.Latency < 0 || f.Jitter < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	return nil
}

// SetFaults replaces the faults injected into API calls.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// injectFaults applies the current faults to an API request. It returns
// false when the request has been answered (or dropped, or abandoned by the
// client during the latency) and must not go further.
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request) bool {
	f := s.currentFaults()
	delay := f.Latency
	if f.Jitter > 0 {
		delay += rand.N(f.Jitter)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return false
		case <-t.C:
		}
	}
	switch {
	case chance(f.DropRate):
		drop(w)
		return false
	case chance(f.ForbiddenRate):
		writeReply(w, r, errReply(http.StatusForbidden, "simulated: this IP address is not allowlisted for the client"))
		return false
	case chance(f.RateLimitRate):
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		writeReply(w, r, errReply(http.StatusTooManyRequests, "too many requests"))
		return false
	case chance(f.ErrorRate):
		codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		code := codes[rand.IntN(len(codes))]
		writeReply(w, r, errReply(code, "simulated server error (%d)", code))
		return false
	}
	return true
}

func chance(rate float64) bool {
	return rate > 0 && rand.Float64() < rate
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2, or hijacking failed: abort the stream
}
