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
package query
