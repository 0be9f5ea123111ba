package mxsim

import "time"

// SucceededAt is when the run that last connected the member ended, to
// the nanosecond (MX shows it to the second, as successfully_aggregated_at);
// ok is false for an unknown member or one never connected. It is the
// simulator's own, for benchmarks that measure how late the fleet sees a
// run end (a run's end is applied when the member is next read, so call it
// after the fleet has seen the member connected).
func (s *Server) SucceededAt(userGUID, memberGUID string) (at time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userGUID]
	if u == nil {
		return time.Time{}, false
	}
	m := u.members[memberGUID]
	if m == nil || m.static || m.succeededAt.IsZero() {
		return time.Time{}, false
	}
	return m.succeededAt, true
}
