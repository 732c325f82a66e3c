package testutil

import (
	"context"
	"sync"
	"time"
)

// InstantClock is a clock whose sleeps return at once, moving its time on by what was asked
// (kuberetry.Clock): code that retries until a deadline runs through it without waiting.
type InstantClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewInstantClock starts at the real time, so that real contexts' deadlines still apply.
func NewInstantClock() *InstantClock { return &InstantClock{now: time.Now()} }

// Now is the clock's time.
func (c *InstantClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the time on by d at once; false when ctx has ended.
func (c *InstantClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return ctx.Err() == nil
}

// Slept is the sum of the sleeps and each of them, in order.
func (c *InstantClock) Slept() (total time.Duration, each []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.sleeps {
		total += d
	}
	return total, append([]time.Duration(nil), c.sleeps...)
}
