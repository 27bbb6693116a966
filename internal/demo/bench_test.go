package demo

import (
	"testing"
)

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(int64(b.N)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdates(b *testing.B) {
	c, err := New(1)
	if err != nil {
		b.Fatal(err)
	}
	t := testTime
	for b.Loop() {
		c.Updates(t, t.Add(DefaultInterval))
		t = t.Add(DefaultInterval)
	}
}

func BenchmarkEntities(b *testing.B) {
	c, err := New(1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c.Entities(testTime)
	}
}
