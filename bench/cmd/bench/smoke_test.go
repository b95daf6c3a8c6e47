package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twisted-go/threadpool/bench/pools"
)

// TestSmoke builds the bench command and runs every scenario, the cluster
// ones included, at a hundredth of its size (-smoke), then both reports and
// the charts on their lines. It checks that the instrument works: every run
// exits 0 and prints a JSON line without an error, and the reports and the
// charts are written. No figure is asserted: speed is measured by run.sh,
// not by tests.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bench command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bench")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	type run struct {
		pool, scenario, size string
	}
	var runs []run
	// Every scenario on this pool, and every pool on the cheapest scenario.
	for _, sc := range scenarioOrder {
		size := "0"
		if sc == "sleep" || sc == "burst" {
			size = "100"
		}
		runs = append(runs, run{"threadpool", sc, size})
	}
	for _, p := range pools.Names() {
		if p != "threadpool" {
			runs = append(runs, run{p, "tiny", "0"})
		}
	}
	// Both cluster scenarios, with each kind of results and of pull, on one
	// and on three worker processes.
	runs = append(runs,
		run{"exact", "cluster-tput", "1"}, run{"prefetch100-ephemeral", "cluster-tput", "3"},
		run{"exact-ephemeral", "cluster-rtt", "3"}, run{"prefetch100", "cluster-rtt", "1"})

	raw := filepath.Join(dir, "raw.jsonl")
	craw := filepath.Join(dir, "cluster.jsonl")
	for _, r := range runs {
		cmd := exec.CommandContext(ctx, bin, "-pool", r.pool, "-scenario", r.scenario, "-size", r.size, "-smoke")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s", r, err, stderr.String())
		}
		var res Result
		if err := json.Unmarshal(out, &res); err != nil || res.Error != "" || res.Tasks == 0 {
			t.Fatalf("%v: bad result line (%v): %s", r, err, out)
		}
		if res.DuplicateResults != 0 {
			t.Errorf("%v: %d duplicate results", r, res.DuplicateResults)
		}
		file := raw
		if strings.HasPrefix(r.scenario, "cluster-") {
			file = craw
		}
		appendFile(t, file, out)
	}

	report := filepath.Join(dir, "RESULTS.md")
	for _, args := range [][]string{
		{"-report", raw, "-out", report},
		{"-cluster-report", craw, "-out", report, "-command", "smoke"},
		{"-report", raw, "-out", report}, // keeps the cluster section
	} {
		if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Tables", "### tiny:", clusterMarker, "### cluster-tput:", "### cluster-rtt:"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	// The charts of the same lines, by their own command (cmd/charts).
	if out, err := exec.CommandContext(ctx, "go", "run", "../charts", "-in", raw, "-out", dir).CombinedOutput(); err != nil {
		t.Fatalf("charts: %v\n%s", err, out)
	}
	for _, f := range []string{"dispatch.svg", "latency.svg", "memory.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("charts: %v", err)
		}
	}
}

func appendFile(t *testing.T, path string, line []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		t.Fatal(err)
	}
}
