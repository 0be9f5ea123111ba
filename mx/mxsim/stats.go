package mxsim

import "maps"

// Stats counts the API calls that reached routing (past auth and Accept
// checks, whatever their answer), by operationId and, for calls on a member,
// by member guid and operationId. The Connect widget's JSON endpoints count
// as the operations they stand for (createMember, verifyMember or
// aggregateMember, resumeAggregation); its page and polls are not counted.
// With WithWebhook, Calls also counts deliveries as "webhook_sent" and
// "webhook_failed".
type Stats struct {
	Calls   map[string]int            `json:"calls"`
	Members map[string]map[string]int `json:"members"`
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
	return st
}

// ResetStats zeroes the call counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.memberCalls = map[string]map[string]int{}
}
