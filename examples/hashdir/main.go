// Command hashdir hashes every file under a directory on a threadpool that
// is resized while it runs, printing progress and the pool's final Stats.
//
//	go run ./examples/hashdir [dir]
//
// The directory defaults to the current one. Files are read on the pool's
// workers; each result comes back through CallInThreadWithCallback on the
// worker that produced it.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/twisted-go/threadpool"
)

type result struct {
	path string
	sum  string
	size int64
}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		fmt.Fprintln(os.Stderr, "hashdir:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	pool, err := threadpool.New(1, 2, threadpool.WithName("hash"), threadpool.WithLogger(logger))
	if err != nil {
		return err
	}
	if err := pool.Start(); err != nil {
		return err
	}
	fmt.Printf("hashing %d files under %s on pool %q (min %d, max %d)\n",
		len(files), dir, pool.Name(), pool.Min(), pool.Max())

	var (
		mu      sync.Mutex
		results []result
		failed  []error
	)
	step := max(1, len(files)/10)
	collect := func(v any, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = append(failed, err)
		} else {
			results = append(results, v.(result))
		}
		if done := len(results) + len(failed); done%step == 0 || done == len(files) {
			s := pool.Stats()
			fmt.Printf("  %4d/%d done  workers=%d working=%d queued=%d\n",
				done, len(files), s.Workers, s.Working, s.Queued)
		}
	}

	for i, path := range files {
		if i == len(files)/2 {
			// Halfway through submitting, give the pool more room: the backlog
			// is handed to the new workers at once.
			if err := pool.AdjustPoolSize(2, 2*runtime.GOMAXPROCS(0)); err != nil {
				return err
			}
			fmt.Printf("resized to min %d, max %d with %d queued\n", pool.Min(), pool.Max(), pool.QueueSize())
		}
		if err := pool.CallInThreadWithCallback(collect, func() (any, error) { return hashFile(path) }); err != nil {
			return err
		}
	}
	pool.DumpStats()
	if err := pool.Stop(); err != nil { // runs the whole backlog first
		return err
	}

	sort.Slice(results, func(i, j int) bool { return results[i].path < results[j].path })
	all := sha256.New()
	var bytes int64
	for _, r := range results {
		fmt.Fprintf(all, "%s  %s\n", r.sum, r.path)
		bytes += r.size
	}
	for _, err := range failed {
		fmt.Println("  error:", err)
	}
	s := pool.Stats()
	fmt.Printf("hashed %d files, %d bytes; digest of the listing %s\n", len(results), bytes, hex.EncodeToString(all.Sum(nil))[:16])
	fmt.Printf("stats: submitted=%d completed=%d failed=%d canceled=%d peak workers=%d workers now=%d\n",
		s.Submitted, s.Completed, s.Failed, s.Canceled, s.PeakWorkers, s.Workers)
	if len(failed) > 0 {
		return fmt.Errorf("%d files could not be hashed", len(failed))
	}
	return nil
}

func hashFile(path string) (result, error) {
	f, err := os.Open(path)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", path, err)
	}
	return result{path: path, sum: hex.EncodeToString(h.Sum(nil)), size: n}, nil
}
