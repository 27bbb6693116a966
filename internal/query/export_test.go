package query

// Helpers of the package's internal tests that the external test package
// (query_test: the data-driven tests, which also import the stores) uses.
var (
	CoreContext = coreContext
	ParseParams = parseParams
)
