package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Write renders e as an RFC 7807 body (application/problem+json) with the
// status of its type. It serves Qala's operator APIs outside the NGSI-LD
// namespace (/admin/...); the NGSI-LD API renders its errors in package api.
func Write(w http.ResponseWriter, e *Error) {
	status := e.HTTPStatus()
	b, _ := json.Marshal(map[string]any{"type": BaseURI + string(e.Type), "title": Title(e.Type), "status": status, "detail": e.Detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
