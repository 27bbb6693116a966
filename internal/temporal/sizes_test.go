package temporal

import (
	"reflect"
	"testing"
	"unsafe"
)

// The catalog holds a series per attribute of every entity: at a million
// entities, each byte of a series is five megabytes.
func TestSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n > 64 {
		t.Errorf("series takes %d bytes, want at most 64", n)
	}
}

// The slabs of entities and series are invisible to the garbage collector
// only if those types hold no pointers (slab.go).
func TestSlabTypesHoldNoPointers(t *testing.T) {
	var has func(reflect.Type) bool
	has = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
			return true
		case reflect.Array:
			return ty.Len() > 0 && has(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if has(ty.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	for _, v := range []any{entity{}, series{}} {
		if ty := reflect.TypeOf(v); has(ty) {
			t.Errorf("%s holds pointers", ty)
		}
	}
}
