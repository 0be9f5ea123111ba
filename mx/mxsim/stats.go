package mxsim

import "maps"

// Stats counts the API calls that reached routing (past the auth and
// version checks, whatever their answer), by operationId and, for calls on
// a member, by the member path segment (its guid, or in v20250224 the id
// it was addressed by) and operationId. The Connect widget's JSON endpoints count
// as the operations they stand for (createMember, verifyMember or
// aggregateMember, resumeAggregation); its page and polls are not counted.
// With WithWebhook, Calls also counts deliveries as "webhook_sent" and
// "webhook_failed".
//
// Jobs counts, per member guid, the MX jobs that started on it (a create
// with products, verify, identify, aggregate, new credentials), not the
// calls that found the same job already running (MX's 202 no-op): more
// jobs than a client meant to start is a duplicate start.
type Stats struct {
	Calls   map[string]int            `json:"calls"`
	Members map[string]map[string]int `json:"members"`
	Jobs    map[string]int            `json:"jobs"`
}

// count records a call; the caller holds s.mu.
func (s *Server) count(op, memberGUID string) {
	s.calls[op]++
	if memberGUID == "" {
		return
	}
	if s.memberCalls[memberGUID] == nil {
		s.memberCalls[memberGUID] = map[string]int{}
	}
	s.memberCalls[memberGUID][op]++
}

// Stats returns a copy of the call counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Calls: maps.Clone(s.calls), Members: make(map[string]map[string]int, len(s.memberCalls))}
	for guid, ops := range s.memberCalls {
		st.Members[guid] = maps.Clone(ops)
	}
	st.Jobs = map[string]int{}
	for _, u := range s.users {
		for guid, m := range u.members {
			if m.jobsStarted > 0 {
				st.Jobs[guid] = m.jobsStarted
			}
		}
	}
	return st
}

// ResetStats zeroes the call counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.memberCalls = map[string]map[string]int{}
}
