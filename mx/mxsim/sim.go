package mxsim

import (
	"encoding/json"
	"io"
	"net/http"
)

// simRoutes registers the simulator's own endpoints: no auth, no faults.
func (s *Server) simRoutes() {
	s.sim.HandleFunc("GET /_sim/scenarios", func(w http.ResponseWriter, r *http.Request) {
		writeSimJSON(w, http.StatusOK, map[string]any{"scenarios": Scenarios()})
	})
	s.sim.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeSimJSON(w, http.StatusOK, s.Stats())
	})
	s.sim.HandleFunc("POST /_sim/reset-stats", func(w http.ResponseWriter, r *http.Request) {
		s.ResetStats()
		writeSimJSON(w, http.StatusOK, s.Stats())
	})
	s.sim.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeSimJSON(w, http.StatusOK, s.currentFaults())
	})
	s.sim.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err == nil {
			err = json.Unmarshal(body, &f)
		}
		if err == nil {
			err = f.validate()
		}
		if err != nil {
			writeSimJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"message": err.Error()}})
			return
		}
		s.SetFaults(f)
		writeSimJSON(w, http.StatusOK, f)
	})
	s.connectRoutes()
	s.oauthRoutes()
	s.microdepositSimRoutes()
	s.sim.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeSimJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"message": "no such simulator route"}})
	})
}

func writeSimJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
