package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		segments = fs.String("segments", "10,100,1000,10000", "segment counts of the sweep, comma-separated")
		maxSegs  = fs.Int("max-segments", 0, "drop the counts above this (0: keep all)")
		contacts = fs.Int("contacts", 300, "distinct contacts: all are checked, the timing cycles over them")
		seed     = fs.Uint64("seed", 1, "workload seed")
		rounds   = fs.Int("rounds", 15, "interleaved rounds per entry")
		batch    = fs.Duration("batch", 10*time.Millisecond, "about how long one backend's batch of a round takes")
		only     = fs.String("peers", "", "run only these peers and floors (comma-separated names; the engine always runs)")
		native   = fs.Bool("native", true, "also time the pre-decoded entry")
		out      = fs.String("out", "", "write report.md, throughput.svg (raw JSON in) and native.svg (pre-decoded) into this directory")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cd benchmarks/peers && go run . [flags]")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "peers:", strings.Join(kindNames(), ", "))
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	counts, err := ParseCounts(*segments)
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 2
	}
	if *maxSegs > 0 {
		var keep []int
		for _, c := range counts {
			if c <= *maxSegs {
				keep = append(keep, c)
			}
		}
		counts = keep
	}
	cfg := Config{Counts: counts, Contacts: *contacts, Seed: *seed, Rounds: max(*rounds, 1), Batch: *batch, Native: *native,
		Log: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	if *only != "" {
		for n := range strings.SplitSeq(*only, ",") {
			n = strings.TrimSpace(n)
			known := false
			for _, k := range kindNames() {
				known = known || k == n
			}
			if !known {
				fmt.Fprintf(stderr, "peers: unknown peer %q (know: %s)\n", n, strings.Join(kindNames(), ", "))
				return 2
			}
			cfg.Only = append(cfg.Only, n)
		}
	}
	if len(counts) == 0 || *contacts < 1 {
		fmt.Fprintln(stderr, "peers: no segment count left, or no contacts")
		return 2
	}
	rep, err := Run(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s; CPU %s; load %s → %s\n", rep.Workload, rep.CPUModel, rep.LoadBefore, rep.Load)
	for _, cn := range rep.Counts {
		WriteText(stdout, cn)
	}
	if *out == "" {
		return 0
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 1
	}
	var md, raw, nat bytes.Buffer
	WriteMarkdown(&md, rep, args, true)
	if err := WriteSVG(&raw, rep, func(c Count) []Row { return c.Raw }, "Raw JSON in: throughput against segment count (one goroutine, log scales)"); err != nil {
		fmt.Fprintln(stderr, "peers:", err)
		return 1
	}
	files := map[string][]byte{"report.md": md.Bytes(), "throughput.svg": raw.Bytes()}
	if *native {
		if err := WriteSVG(&nat, rep, func(c Count) []Row { return c.Native }, "Pre-decoded: throughput against segment count (one goroutine, log scales)"); err == nil {
			files["native.svg"] = nat.Bytes()
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			fmt.Fprintln(stderr, "peers:", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(*out, "report.md"))
	return 0
}

func kindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}
