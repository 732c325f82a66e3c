package track

import (
	"testing"
	"time"
)

func TestPacerSpacesEvaluations(t *testing.T) {
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		evaluatedAt int // -1: no evaluation before this change
		took        int // how long that evaluation ran, ms
		changeAt    int
		now         bool
		wait        time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a change long after the last evaluation is judged at once", []step{{0, 0, 25, true, 0}}},
		{"a change right after an evaluation waits for the rest of the interval", []step{{0, 0, 5, false, 15 * time.Millisecond}}},
		{"further changes while one waits add no wait", []step{{0, 0, 5, false, 15 * time.Millisecond}, {-1, 0, 6, false, 0}, {-1, 0, 19, false, 0}}},
		{"the deferred evaluation ends the wait", []step{{0, 0, 5, false, 15 * time.Millisecond}, {20, 0, 21, false, 19 * time.Millisecond}, {40, 0, 61, true, 0}}},
		{"the interval counts from the end of the evaluation", []step{{3, 1, 22, false, 1 * time.Millisecond}}},
		{"an expensive evaluation is followed by a pause twenty times its length", []step{{0, 2, 45, true, 0}, {50, 2, 60, false, 30 * time.Millisecond}}},
		{"a cheap evaluation after an expensive one shortens the pause again", []step{{0, 2, 15, false, 25 * time.Millisecond}, {60, 1, 65, false, 15 * time.Millisecond}}},
		{"one slow evaluation among cheap ones does not lengthen the pause", []step{{0, 1, 5, false, 15 * time.Millisecond}, {40, 10, 45, false, 15 * time.Millisecond}}},
		{"the pause is capped however slow the evaluation was", []step{{0, 100, 15, false, 235 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer()
			for i, s := range tt.steps {
				if s.evaluatedAt >= 0 {
					p.evaluated(at(s.evaluatedAt-s.took), at(s.evaluatedAt))
				}
				now, wait := p.changed(at(s.changeAt))
				if now != s.now || wait != s.wait {
					t.Fatalf("step %d: changed at %d ms = (%v, %v), want (%v, %v)", i, s.changeAt, now, wait, s.now, s.wait)
				}
			}
		})
	}
}
