// Command qala is the Qala NGSI-LD context broker: `qala serve` runs it,
// `qala version` prints its version.
package main

import (
	"os"

	"github.com/qala-city/qala/internal/server"
)

func main() {
	os.Exit(server.Main(os.Args[1:], os.Stdout, os.Stderr))
}
