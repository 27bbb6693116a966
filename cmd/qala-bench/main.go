// Command qala-bench is the load tool of Qala: run "qala-bench -h".
package main

import (
	"os"

	"github.com/qala-city/qala/internal/bench"
)

func main() {
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
