package main

import (
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The command prints its URL, a line a second read back from its own
// metrics, resizes the pool and ends by itself.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-duration", "3500ms"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !regexp.MustCompile(`(?m)^metrics at http://127\.0\.0\.1:\d+/metrics for 3\.5s$`).MatchString(text) {
		t.Errorf("no URL line:\n%s", text)
	}
	lines := regexp.MustCompile(`(?m)^ +\d+s max +\d+ queue +\d+ busy +\d+ idle +\d+ \| wait p50 +\S+ p99 +\S+ \| run p50 +\S+ p99 +\S+ \| done +\d+$`).FindAllString(text, -1)
	if len(lines) != 3 {
		t.Errorf("%d view lines, want 3:\n%s", len(lines), text)
	}
	for _, want := range []string{"AdjustPoolSize(1, 4)", "StopNow dropped", "stopped: "} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
}
