package mxsim

import (
	"encoding/json"
	"fmt"
	"html"
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
	s.sim.HandleFunc("GET /_sim/connect/{token}", s.connectPage)
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

// connectPage is where a widget URL points: for now a placeholder page.
func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	s.mu.Lock()
	ws, found := s.widgets[token]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!doctype html><title>MX connect widget (simulated)</title><p>MX connect widget (simulated): unknown or expired widget URL.</p>\n")
		return
	}
	fmt.Fprintf(w, "<!doctype html><title>MX connect widget (simulated)</title><h1>MX connect widget (simulated)</h1>\n<p>User %s</p>\n<pre>%s</pre>\n",
		html.EscapeString(ws.userGUID), html.EscapeString(string(ws.request)))
}
