package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/mx"
)

// directory answers 503 mx_not_configured when this API has no MX
// credentials, and says whether the answer came from the fleet's cache.
func (s *Server) directory(w http.ResponseWriter) *institutions.Directory {
	if s.cfg.Institutions == nil {
		writeErr(w, http.StatusServiceUnavailable, "mx_not_configured",
			"institutions need MX credentials: start `mxfleet api` with MXFLEET_MX_CLIENT_ID and MXFLEET_MX_API_KEY set")
	}
	return s.cfg.Institutions
}

func cacheHeader(w http.ResponseWriter, cached bool) {
	if cached {
		w.Header().Set("X-Cache", "hit")
	} else {
		w.Header().Set("X-Cache", "miss")
	}
}

func (s *Server) searchInstitutions(w http.ResponseWriter, r *http.Request) {
	d := s.directory(w)
	if d == nil {
		return
	}
	q := r.URL.Query()
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			writeErr(w, http.StatusBadRequest, "invalid_paging", fmt.Sprintf("page must be an integer from 1 to %d", MaxPage))
			return
		}
		page = n
	}
	p, cached, err := d.Search(r.Context(), q.Get("name"), page)
	switch {
	case errors.Is(err, institutions.ErrEmptySearch):
		writeErr(w, http.StatusBadRequest, "invalid_request", "give name: part of an institution's name or url")
	case err != nil:
		s.mxErr(w, err)
	default:
		cacheHeader(w, cached)
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *Server) getInstitution(w http.ResponseWriter, r *http.Request) {
	d := s.directory(w)
	if d == nil {
		return
	}
	in, cached, err := d.Get(r.Context(), r.PathValue("code"))
	var me *mx.Error
	switch {
	case errors.Is(err, institutions.ErrBadCode):
		writeErr(w, http.StatusBadRequest, "invalid_code", "an institution code is 1 to 100 letters, digits, '_', '-' or '.'")
	case errors.As(err, &me) && me.StatusCode == http.StatusNotFound:
		writeErr(w, http.StatusNotFound, "not_found", "MX knows no institution with that code")
	case err != nil:
		s.mxErr(w, err)
	default:
		cacheHeader(w, cached)
		writeJSON(w, http.StatusOK, in)
	}
}
