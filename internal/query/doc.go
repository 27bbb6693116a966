// Package query holds the one query AST of NGSI-LD: the q query language
// (clause 4.9 of ETSI GS CIM 009 v1.8), scope queries (clause 4.19),
// geo-queries (clause 4.10) and entity type selection (clause 4.17), parsed
// from the raw parameter strings of a request, and an in-memory evaluator of
// the parsed query against entities held in expanded form (package ngsild).
//
// Parsers return *problem.Error values whose detail names the parameter, the
// byte offset of the fault and the parameter text, so that a client developer
// can see exactly where the expression went wrong.
//
// Parse turns the raw parameters (Params) into a Query whose Match method is
// the in-memory evaluator: the embedded store passes it as store.Query.Filter
// (after taking candidates from its indexes with Query.IndexTypes and
// GeoQuery.Bounds), and subscription matching calls it on each change. The
// AST types (And, Or, *Term, TypeExpr, ScopeNode, GeoQuery) have exported
// fields so that a SQL translator can walk them.
//
// ParseOrdering parses the ordering of results of v1.9 (clause 4.23: orderBy,
// collation, and the reference geometry of distance keys) into an Ordering,
// whose Sort is the in-memory sort; its keys reuse the q language's Path.
//
// The data files in testdata/ run on the in-memory evaluator and, through
// store.Query as the API builds it, on every store (datadriven_test.go).
package query
