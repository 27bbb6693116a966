package temporal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/qala-city/qala/internal/problem"
)

// AdminHandler serves the administration of the history, outside the
// NGSI-LD API:
//
//	GET  /admin/history             the configuration in force and statistics
//	PUT  /admin/history             replace the configuration (persisted)
//	POST /admin/history/retention   apply retention now
//	POST /admin/history/compact     merge every window written in pieces and
//	                                compact the database (before measuring it)
//
// Errors are ProblemDetails, as in the NGSI-LD API.
func (s *Store) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/history", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, http.StatusOK, s.adminStatus())
	})
	mux.HandleFunc("PUT /admin/history", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			writeAdminError(w, problem.Invalid("reading the body: %v", err))
			return
		}
		var c Config
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			writeAdminError(w, problem.BadData("the body must be a history configuration {\"enabled\", \"retention\", \"rules\"}: %v", err))
			return
		}
		if _, err := s.SetConfig(c); err != nil {
			writeAdminError(w, problem.BadData("%v", err))
			return
		}
		writeAdminJSON(w, http.StatusOK, s.adminStatus())
	})
	mux.HandleFunc("POST /admin/history/retention", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.ApplyRetention(r.Context())
		if err != nil {
			writeAdminError(w, err)
			return
		}
		writeAdminJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /admin/history/compact", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.Compact(r.Context(), true)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		writeAdminJSON(w, http.StatusOK, map[string]any{"merged": n, "diskBytes": s.DiskBytes()})
	})
	mux.HandleFunc("/admin/history/", func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, problem.NotFound("no resource at %s", r.URL.Path))
	})
	return mux
}

type adminStatus struct {
	Config Config      `json:"config"`
	Stats  adminCounts `json:"stats"`
}

type adminCounts struct {
	Tenants            int    `json:"tenants"`
	Entities           int    `json:"entities"`
	Series             int    `json:"series"`
	PendingCompactions int    `json:"pendingCompactions"`
	DiskBytes          uint64 `json:"diskBytes"`
	Cursor             uint64 `json:"cursor"`
}

func (s *Store) adminStatus() adminStatus {
	st := adminStatus{Config: s.Config()}
	s.cat.mu.RLock()
	st.Stats.Tenants = len(s.cat.tenants)
	for _, t := range s.cat.tenants {
		st.Stats.Entities += t.ents.Len()
	}
	st.Stats.Series = s.cat.nseries
	s.cat.mu.RUnlock()
	st.Stats.PendingCompactions = s.PendingCompactions()
	st.Stats.DiskBytes = s.DiskBytes()
	st.Stats.Cursor = s.Cursor()
	return st
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeAdminError(w http.ResponseWriter, err error) {
	pe := problem.As(err)
	if pe == nil {
		switch {
		case errors.Is(err, ErrClosed):
			pe = problem.New(problem.ServiceUnavailable, "the server is shutting down")
		default:
			pe = problem.New(problem.InternalError, "%v", err)
		}
	}
	problem.Write(w, pe)
}
