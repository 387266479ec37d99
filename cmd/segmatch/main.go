// Command segmatch classifies contacts into marketing segments and checks
// segment documents. Run `segmatch help` for the subcommands.
//
// main stays thin: every subcommand is a function of (args, stdin, stdout,
// stderr) returning the exit code, so tests run them in-process.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
