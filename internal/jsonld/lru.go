package jsonld

import "container/list"

// lru is a bounded map that evicts its least recently used entry. It is not
// safe for concurrent use; the Resolver's mutex guards it.
type lru[K comparable, V any] struct {
	max     int
	ll      *list.List
	m       map[K]*list.Element
	onEvict func(K, V)
}

type lruItem[K comparable, V any] struct {
	k K
	v V
}

func newLRU[K comparable, V any](max int, onEvict func(K, V)) *lru[K, V] {
	return &lru[K, V]{max: max, ll: list.New(), m: map[K]*list.Element{}, onEvict: onEvict}
}

func (l *lru[K, V]) get(k K) (V, bool) {
	e, ok := l.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.ll.MoveToFront(e)
	return e.Value.(*lruItem[K, V]).v, true
}

func (l *lru[K, V]) add(k K, v V) {
	if e, ok := l.m[k]; ok {
		e.Value.(*lruItem[K, V]).v = v
		l.ll.MoveToFront(e)
		return
	}
	l.m[k] = l.ll.PushFront(&lruItem[K, V]{k, v})
	for l.max > 0 && l.ll.Len() > l.max {
		last := l.ll.Back()
		it := last.Value.(*lruItem[K, V])
		l.ll.Remove(last)
		delete(l.m, it.k)
		if l.onEvict != nil {
			l.onEvict(it.k, it.v)
		}
	}
}

func (l *lru[K, V]) remove(k K) {
	if e, ok := l.m[k]; ok {
		l.ll.Remove(e)
		delete(l.m, k)
	}
}

func (l *lru[K, V]) clear() {
	l.ll.Init()
	l.m = map[K]*list.Element{}
}
