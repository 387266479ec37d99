// Command gensample writes the sample data of package sample
// (segments.json, leads.jsonl, invalid_segments.json) into a directory:
//
//	go run ./internal/testkit/sample/cmd/gensample            # writes ./testdata
//	go generate ./internal/testkit/sample                     # the same, via go:generate
//
// The defaults are what the committed testdata/ was written with; a test
// in package sample fails when the committed files differ from them.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/segmatch/segmatch/internal/testkit/sample"
)

func main() {
	dir := flag.String("dir", "testdata", "directory to write the sample files into")
	seed := flag.Uint64("seed", sample.DefaultSeed, "PCG seed")
	n := flag.Int("n", sample.DefaultLeads, "number of leads")
	flag.Parse()
	if err := sample.WriteFiles(*dir, *seed, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
}
