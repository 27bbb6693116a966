// Package problem is the NGSI-LD error catalogue (clause 5.5.2 of ETSI GS CIM 009)
// and the error value every layer of Qala returns to be rendered, in one place,
// as an RFC 7807 ProblemDetails body.
package problem

import (
	"errors"
	"fmt"
)

// Type is an NGSI-LD error type; its URI is BaseURI + string(Type).
type Type string

// BaseURI prefixes every error type.
const BaseURI = "https://uri.etsi.org/ngsi-ld/errors/"

// The error types of clause 5.5.2, and the HTTP-level ones Qala also renders as
// ProblemDetails.
const (
	InvalidRequest        Type = "InvalidRequest"
	BadRequestData        Type = "BadRequestData"
	AlreadyExists         Type = "AlreadyExists"
	OperationNotSupported Type = "OperationNotSupported"
	ResourceNotFound      Type = "ResourceNotFound"
	InternalError         Type = "InternalError"
	TooComplexQuery       Type = "TooComplexQuery"
	TooManyResults        Type = "TooManyResults"
	LdContextNotAvailable Type = "LdContextNotAvailable"
	NoMultiTenantSupport  Type = "NoMultiTenantSupport"
	NonexistentTenant     Type = "NonexistentTenant"
	Conflict              Type = "Conflict"

	// HTTP-level errors that have no NGSI-LD type of their own.
	NotAcceptable        Type = "NotAcceptable"
	UnsupportedMediaType Type = "UnsupportedMediaType"
	MethodNotAllowed     Type = "MethodNotAllowed"
	PayloadTooLarge      Type = "PayloadTooLarge"
	ServiceUnavailable   Type = "ServiceUnavailable"
)

// Catalogue maps each error type to its HTTP status, as the spec gives it.
// LdContextNotAvailable is 504 in clause 5.5.2 of v1.8 and v1.9 (a gateway-style
// failure to fetch a remote @context).
var Catalogue = map[Type]int{
	InvalidRequest:        400,
	BadRequestData:        400,
	AlreadyExists:         409,
	OperationNotSupported: 422,
	ResourceNotFound:      404,
	InternalError:         500,
	TooComplexQuery:       403,
	TooManyResults:        403,
	LdContextNotAvailable: 504,
	NoMultiTenantSupport:  501,
	NonexistentTenant:     404,
	Conflict:              409,
	NotAcceptable:         406,
	UnsupportedMediaType:  415,
	MethodNotAllowed:      405,
	PayloadTooLarge:       413,
	ServiceUnavailable:    503,
}

// Error is an NGSI-LD ProblemDetails error.
type Error struct {
	Type   Type
	Title  string // short summary; defaults to a title derived from Type
	Detail string // what went wrong, in words a client developer can act on
	// Status overrides the catalogue's status when non-zero (rarely needed).
	Status int
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return string(e.Type)
	}
	return string(e.Type) + ": " + e.Detail
}

// HTTPStatus returns the status the error is rendered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if s, ok := Catalogue[e.Type]; ok {
		return s
	}
	return 500
}

// New returns an error of type t with a formatted detail.
func New(t Type, format string, args ...any) *Error {
	return &Error{Type: t, Detail: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// Is reports whether err is (or wraps) a problem of type t.
func Is(err error, t Type) bool {
	pe := As(err)
	return pe != nil && pe.Type == t
}

// Shorthands for the most frequent types.

// BadData returns a BadRequestData error.
func BadData(format string, args ...any) *Error { return New(BadRequestData, format, args...) }

// Invalid returns an InvalidRequest error.
func Invalid(format string, args ...any) *Error { return New(InvalidRequest, format, args...) }

// NotFound returns a ResourceNotFound error.
func NotFound(format string, args ...any) *Error { return New(ResourceNotFound, format, args...) }

var titles = map[Type]string{
	InvalidRequest:        "Invalid request",
	BadRequestData:        "Bad request data",
	AlreadyExists:         "Already exists",
	OperationNotSupported: "Operation not supported",
	ResourceNotFound:      "Resource not found",
	InternalError:         "Internal error",
	TooComplexQuery:       "Too complex query",
	TooManyResults:        "Too many results",
	LdContextNotAvailable: "LD context not available",
	NoMultiTenantSupport:  "No multi-tenant support",
	NonexistentTenant:     "Nonexistent tenant",
	Conflict:              "Conflict",
	NotAcceptable:         "Not acceptable",
	UnsupportedMediaType:  "Unsupported media type",
	MethodNotAllowed:      "Method not allowed",
	PayloadTooLarge:       "Payload too large",
	ServiceUnavailable:    "Service unavailable",
}

// Title returns the short summary of an error type (the ProblemDetails title).
func Title(t Type) string {
	if s, ok := titles[t]; ok {
		return s
	}
	return string(t)
}
