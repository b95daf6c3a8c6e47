package team

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A worker's kernel name fits in 15 bytes and keeps its number whole.
func TestKernelNameFitsAndKeepsTheNumber(t *testing.T) {
	for _, c := range []struct {
		label string
		n     int
		want  string
	}{
		{"db", 1, "PoolThread-db-1"},              // 15 bytes: the whole name
		{"db", 12, "db-12"},                       // 16: the prefix goes
		{"ingest-pipeline", 7, "ingest-pipeli-7"}, // the label is cut
		{"ingest-pipeline", 123456, "ingest-p-123456"},
		{"x", 1234567890123456, "234567890123456"}, // only the number: its last 15 digits
		{"ééééééééé", 3, "éééééé-3"},               // not cut inside a character
	} {
		got := KernelName(c.label, c.n)
		if got != c.want || len(got) > 15 || !utf8.ValidString(got) {
			t.Errorf("KernelName(%q, %d) = %q, want %q", c.label, c.n, got, c.want)
		}
	}
	// Names of one pool never collide.
	seen := map[string]int{}
	for n := 1; n <= 100000; n++ {
		name := KernelName(strings.Repeat("long-pool-name", 3), n)
		if m, ok := seen[name]; ok {
			t.Fatalf("workers %d and %d are both %q", m, n, name)
		}
		seen[name] = n
	}
}

// pushFront puts a slot before the oldest, across block boundaries, and
// the slots keep their sequence numbers.
func TestBacklogPushFront(t *testing.T) {
	b := backlog{first: 1 << 40}
	var seqs []uint64
	for range 3 * chunkSize {
		seqs = append(seqs, b.push(entry{task: FuncTask(func() {})}))
	}
	for range chunkSize + 10 { // the head moves into the second block
		b.pop()
	}
	var front []uint64
	for range 2*chunkSize + 5 { // back through two block boundaries
		front = append(front, b.pushFront(entry{task: FuncTask(func() {})}))
	}
	if b.len() != 3*chunkSize-(chunkSize+10)+2*chunkSize+5 {
		t.Fatalf("len %d", b.len())
	}
	for i := len(front) - 1; i >= 0; i-- {
		_, seq, ok := b.pop()
		if !ok || seq != front[i] {
			t.Fatalf("pop %d: seq %d, want %d", i, seq, front[i])
		}
	}
	for _, want := range seqs[chunkSize+10:] {
		if e := b.at(want); e == nil || e.dropped() {
			t.Fatalf("slot %d lost", want)
		}
		if _, seq, ok := b.pop(); !ok || seq != want {
			t.Fatalf("pop: seq %d, want %d", seq, want)
		}
	}
	if b.len() != 0 {
		t.Fatalf("len %d", b.len())
	}
	if seq := b.pushFront(entry{task: FuncTask(func() {})}); seq != b.first {
		t.Fatalf("pushFront on an empty backlog: seq %d, first %d", seq, b.first)
	}
}
