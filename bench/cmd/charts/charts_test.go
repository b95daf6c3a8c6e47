package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRender draws every chart from a few made-up runs, in both formats,
// then from runs of one scenario only, which removes the charts it has no
// runs for. Like the bench smoke test it checks the instrument, not the
// figures: a chart is written, not what it shows.
func TestRender(t *testing.T) {
	var lines []string
	add := func(pool, scenario string, size, submitters int, extra string) {
		lines = append(lines, fmt.Sprintf(`{"pool":%q,"scenario":%q,"size":%d,"submitters":%d,"tasks":1000,"gomaxprocs":2,"ns_per_task":%d,"peak_rss_kib":%d%s}`,
			pool, scenario, size, submitters, 40+10*len(lines), 4000+100*len(lines), extra))
	}
	for _, pool := range []string{"fixed", "threadpool", "threadpool-block", "ants"} {
		for _, size := range []int{2, 10000} {
			add(pool, "tiny", size, 1, "")
			add(pool, "tiny8", size, 8, "")
		}
		add(pool, "latency", 2, 1, `,"p50_ns":500`)
		add(pool, "sleep", 1000, 1, "")
		add(pool, "burst", 1000, 1, "")
		add(pool, "cpu", 2, 1, "") // not charted
	}
	add("pond", "tiny", 2, 1, "") // a second run of one pool
	lines = append(lines,
		`{"pool":"conc","scenario":"tiny","size":2,"error":"exit 124: timeout"}`,
		`{"pool":"exact","scenario":"cluster-tput","size":3,"tasks_per_sec":20000}`)
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw.jsonl")
	if err := os.WriteFile(raw, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"svg", "png"} {
		if err := write(raw, dir, format, "made by TestRender"); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, f := range chartFiles {
			if st, err := os.Stat(filepath.Join(dir, f+"."+format)); err != nil || st.Size() == 0 {
				t.Errorf("%s.%s not written (%v)", f, format, err)
			}
		}
	}

	// Only the sleep runs: the memory chart stays, the others go.
	var sleep []string
	for _, l := range lines {
		if strings.Contains(l, `"scenario":"sleep"`) {
			sleep = append(sleep, l)
		}
	}
	if err := os.WriteFile(raw, []byte(strings.Join(sleep, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := write(raw, dir, "svg", ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range chartFiles {
		_, err := os.Stat(filepath.Join(dir, f+".svg"))
		if want := f == "memory"; (err == nil) != want {
			t.Errorf("%s.svg: exists %v, want %v", f, err == nil, want)
		}
	}
}
