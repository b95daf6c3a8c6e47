package team

import (
	"testing"
	"unsafe"
)

// TestTeamLayout checks the cache-line layout that Team's doc comment
// describes: in a Team made by New, mu starts a line, and the hot fields,
// from state to submitted, fill the next one. Nothing breaks if the
// allocator changes its header and this fails; the hand-over only touches
// more lines again, and mallocHeader needs updating.
func TestTeamLayout(t *testing.T) {
	tm := New(0, 1, Config{})
	line := func(p unsafe.Pointer) uintptr { return uintptr(p) / cacheLine }
	off := func(p unsafe.Pointer) uintptr { return uintptr(p) % cacheLine }
	if o := off(unsafe.Pointer(&tm.mu)); o != 0 {
		t.Errorf("mu is at byte %d of its line, want 0", o)
	}
	first, last := unsafe.Pointer(&tm.state), unsafe.Pointer(&tm.submitted)
	if o := off(first); o != 0 {
		t.Errorf("state is at byte %d of its line, want 0", o)
	}
	if line(first) != line(last) || line(first) != line(unsafe.Pointer(&tm.mu))+1 {
		t.Errorf("the hot fields are not on the line after mu's: mu %p, state %p, submitted %p",
			&tm.mu, first, last)
	}
	if line(unsafe.Pointer(&tm.min)) == line(first) {
		t.Errorf("the hot line holds more than its fields")
	}
}
