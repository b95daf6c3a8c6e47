// Package runs reads the JSON lines that bench runs append to
// results/raw.jsonl and groups them by scenario and size, with the median and
// range of any figure over a pool's runs. The Markdown report (cmd/bench
// -report) and the charts (cmd/charts) both read through it, so they show the
// same medians of the same runs.
package runs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// Run is one decoded JSON line. Each reader decodes the figures it needs
// into its own type; Key is what every reader groups by.
type Run interface {
	// Key returns the run's scenario, size and pool, and its error: a
	// failed run has one and no figures.
	Key() (scenario string, size int, pool, err string)
}

// Group is one scenario at one size: the runs of every pool.
type Group[R Run] struct {
	Scenario string
	Size     int
	Runs     map[string][]R      // successful runs by pool, in the file's order
	Failed   map[string][]string // by pool: the errors of its failed runs
}

// Read reads the JSON lines of path into groups, in the order the file first
// names each scenario and size. Lines of the cluster scenarios (cluster-*)
// are left out: their own report reads them. n counts every line, theirs
// included.
func Read[R Run](path string) (groups []*Group[R], n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	type key struct {
		scenario string
		size     int
	}
	byKey := map[key]*Group[R]{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r R
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, 0, fmt.Errorf("%s: %v: %s", path, err, line)
		}
		n++
		scenario, size, pool, runErr := r.Key()
		if strings.HasPrefix(scenario, "cluster-") {
			continue
		}
		g := byKey[key{scenario, size}]
		if g == nil {
			g = &Group[R]{Scenario: scenario, Size: size, Runs: map[string][]R{}, Failed: map[string][]string{}}
			byKey[key{scenario, size}] = g
			groups = append(groups, g)
		}
		if runErr != "" {
			g.Failed[pool] = append(g.Failed[pool], runErr)
			continue
		}
		g.Runs[pool] = append(g.Runs[pool], r)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	return groups, n, nil
}

// Find returns the group of scenario at size, or nil.
func Find[R Run](groups []*Group[R], scenario string, size int) *Group[R] {
	for _, g := range groups {
		if g.Scenario == scenario && g.Size == size {
			return g
		}
	}
	return nil
}

// Agg is the median and range of one figure over some runs.
type Agg struct{ Med, Lo, Hi float64 }

// Aggregate returns the median (the mean of the middle two for an even
// number of runs), the smallest and the largest of f over rs; NaN for none.
func Aggregate[R any](rs []R, f func(R) float64) Agg {
	if len(rs) == 0 {
		return Agg{math.NaN(), math.NaN(), math.NaN()}
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Agg{med, v[0], v[len(v)-1]}
}

// Thousands formats n with commas between groups of three digits.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Num formats a figure with a precision that suits its size: whole numbers
// with commas from 1,000 (or when whole), three significant figures below,
// "–" for NaN.
func Num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return Thousands(int(v))
	case math.Abs(v) >= 1000:
		return Thousands(int(math.Round(v)))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 0.01:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
