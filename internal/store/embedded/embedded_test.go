package embedded

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/storetest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t testing.TB, dir string, noSync bool) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Logger: quietLogger(), NoSync: noSync, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, false) })
}

func TestContractNoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, true) })
}
