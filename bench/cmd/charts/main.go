// Command charts draws the bench runs' medians as bar charts, one bar per
// pool, the ratio to the textbook pool (fixed) on each bar: bench/run.sh
// runs it after the report, on the same JSON lines. It reads them through
// the report's own code (internal/runs), so the charts show the medians of
// RESULTS.md.
//
//	go run ./cmd/charts -in results/raw.jsonl -out results -caption "..."
//
// writes, for the scenarios the runs have, results/dispatch.svg (ns/task of
// the empty-task scenarios, tiny and tiny8 at each size), results/latency.svg
// (the hand-over's p50) and results/memory.svg (peak RSS of sleep and burst).
// It is its own command, not a mode of cmd/bench, so the measuring binary
// does not link the plotting library (whose fonts are parsed when a program
// starts, and would sit in every run's heap).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twisted-go/threadpool/bench/internal/runs"
)

func main() {
	var (
		in      = flag.String("in", "results/raw.jsonl", "the runs' JSON lines")
		out     = flag.String("out", "results", "the directory to write the charts to")
		format  = flag.String("format", "svg", "svg or png")
		caption = flag.String("caption", "", "a line under the charts: the date, the machine and the command of the runs")
	)
	flag.Parse()
	if err := write(*in, *out, *format, *caption); err != nil {
		fmt.Fprintln(os.Stderr, "charts:", err)
		os.Exit(1)
	}
}

// write renders every chart the runs of in have figures for into the
// directory out, and removes those of its charts the runs have none for, so
// the directory never shows figures of an older run beside a newer one.
func write(in, out, format, caption string) error {
	groups, _, err := runs.Read[run](in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	made := map[string]bool{}
	for _, c := range charts(groups) {
		path := filepath.Join(out, c.file+"."+format)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = c.render(f, format, caption)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		made[c.file] = true
		fmt.Fprintln(os.Stderr, "wrote", path)
	}
	for _, file := range chartFiles {
		path := filepath.Join(out, file+"."+format)
		if !made[file] {
			if err := os.Remove(path); err == nil {
				fmt.Fprintln(os.Stderr, "removed", path, "(no runs for it)")
			}
		}
	}
	return nil
}
