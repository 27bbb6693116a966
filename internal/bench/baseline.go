package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// maxBaselineBody bounds the bodies the baseline server decodes.
const maxBaselineBody = 64 << 20

// BaselineHandler returns the handler of the baseline server: a plain
// net/http server that answers the routes the load shapes use while doing
// the least a real broker must do — decode the JSON body — and nothing else.
// Its figures are the anchors against which Qala's are read:
//
//	POST  /ngsi-ld/v1/entities                 decode one entity, 201
//	GET   /ngsi-ld/v1/entities/{id}            a canned ~1 KB entity, 200
//	PATCH /ngsi-ld/v1/entities/{id}/attrs      decode the fragment, 204
//	POST  /ngsi-ld/v1/entityOperations/upsert  decode the array, 204
//	GET   /ngsi-ld/v1/entities                 a canned array of up to limit entities, 200
//	                                           (query-city entities if q, georel or offset is given)
//	GET   /ngsi-ld/v1/types                    the query city's types (details or not), 200
//	GET   /ngsi-ld/v1/attributes               the query city's attribute list, 200
//	POST, GET /ngsi-ld/v1/temporal/entities…   the temporal suite's routes (handleTemporal)
//	GET   /health, GET /trivial                "ok", 200 (the trivial anchor)
func BaselineHandler() http.Handler {
	bodies := Bodies{RunID: "baseline"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	one := bodies.AppendEntity(nil, "p", 0, now)
	const maxCanned = 100
	canned := make([][]byte, maxCanned+1) // canned[n] is an array of n entities
	for n := range canned {
		canned[n] = bodies.AppendBatch(nil, "p", 0, n, now)
	}
	// The query shapes get answers the size a broker holding the city sends.
	city := NewCity("baseline", 10*maxCanned)
	cityCanned := make([][]byte, maxCanned+1)
	for n := range cityCanned {
		cityCanned[n] = city.AppendBatch(nil, 0, n, now)
	}
	typesDetails := AppendTypesDetails(nil)
	typeList := appendTypeList(nil)
	attributes := AppendAttributeList(nil)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /ngsi-ld/v1/entities", func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		if !decode(w, r, &e) {
			return
		}
		id, _ := e["id"].(string)
		w.Header().Set("Location", "/ngsi-ld/v1/entities/"+id)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/entities/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, one)
	})
	mux.HandleFunc("PATCH /ngsi-ld/v1/entities/{id}/attrs", func(w http.ResponseWriter, r *http.Request) {
		var frag map[string]any
		if !decode(w, r, &frag) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /ngsi-ld/v1/entityOperations/upsert", func(w http.ResponseWriter, r *http.Request) {
		var es []map[string]any
		if !decode(w, r, &es) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/entities", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 20
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, "limit: not a non-negative integer", http.StatusBadRequest)
				return
			}
			limit = min(n, maxCanned)
		}
		if q.Get("count") == "true" {
			w.Header().Set("NGSILD-Results-Count", "0")
		}
		if q.Has("q") || q.Has("georel") || q.Has("offset") {
			writeJSON(w, cityCanned[limit])
			return
		}
		writeJSON(w, canned[limit])
	})
	mux.HandleFunc("GET /ngsi-ld/v1/types", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("details") == "true" {
			writeJSON(w, typesDetails)
			return
		}
		writeJSON(w, typeList)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/attributes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, attributes)
	})
	handleTemporal(mux)
	trivial := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}
	mux.HandleFunc("GET /health", trivial)
	mux.HandleFunc("GET /trivial", trivial)
	return mux
}

// decode reads a JSON body into v, answering 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBaselineBody)).Decode(v)
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// Baseline is a running baseline server.
type Baseline struct {
	// URL is the base URL of the server, e.g. "http://127.0.0.1:41234".
	URL string
	srv *http.Server
	ln  net.Listener
}

// StartBaseline starts the baseline server on addr, which must be a loopback
// address (port 0 picks a free port), and serves until Close.
func StartBaseline(addr string) (*Baseline, error) {
	if err := checkLoopbackAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &Baseline{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: BaselineHandler(), ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
	}
	go b.srv.Serve(ln)
	return b, nil
}

// Close stops the server, letting in-flight requests finish for up to 5 s.
func (b *Baseline) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return b.srv.Close()
	}
	return err
}

// checkLoopbackAddr rejects a listen address whose host is not a loopback IP.
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: host must be a loopback IP such as 127.0.0.1", addr)
	}
	return nil
}
