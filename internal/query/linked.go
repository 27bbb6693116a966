package query

// LinkDepth returns how deep the linked-entity paths of a q expression
// reach ("attr{linkedAttr}" follows a Relationship to the entity it points
// at): 0 when it has none, 1 for "owner{name}==1", 2 for
// "owner{works{name}}==1". Braces inside double-quoted strings do not
// count. The API compares it with join and joinLevel (clause 5.7.2.4 of
// v1.9: a filter over Linked Entities deeper than the retrieval asked for
// is a "too deep query").
func LinkDepth(src string) int {
	depth, deepest, quoted := 0, 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == '}':
			depth = max(0, depth-1)
		}
	}
	return deepest
}
