package redact

import (
	"fmt"
	"strings"
	"testing"
)

// TestGoHandsPanicsToTheRedactingHandler: a panic in a goroutine started with Go reaches the
// handler Main installs (which prints through the redactor), not the runtime's raw print.
func TestGoHandsPanicsToTheRedactingHandler(t *testing.T) {
	const secret = "panic-SECRETMARKER-value"
	Add(secret)
	got := make(chan string, 1)
	OnPanic(func(value any, stack []byte) { got <- String(fmt.Sprint(value)) + "\n" + string(stack) })
	t.Cleanup(func() { OnPanic(func(value any, stack []byte) { panic(value) }) })
	Go(func() { panic("cannot use " + secret) })
	printed := <-got
	if strings.Contains(printed, secret) || !strings.HasPrefix(printed, "cannot use "+Mask) {
		t.Fatalf("the panic printed as %q", printed)
	}
	if !strings.Contains(printed, "panics_test.go") {
		t.Fatalf("the stack does not show where the panic happened:\n%s", printed)
	}
}
