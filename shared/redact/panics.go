package redact

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

var (
	panicMu sync.RWMutex
	onPanic = func(value any, stack []byte) {
		fmt.Fprintf(NewWriter(os.Stderr), "Error: internal error (please report it): %v\n%s", value, stack)
		os.Exit(1)
	}
)

// OnPanic sets what a panic in a goroutine started by Go does (the main goroutine's is
// handled by the caller of the command): print it through the redactor and exit. The default
// prints it to stderr through the redactor and exits 1.
func OnPanic(handle func(value any, stack []byte)) {
	panicMu.Lock()
	defer panicMu.Unlock()
	onPanic = handle
}

// CatchClientPanics hands the panics of the client library's own goroutines (informers, their
// event handlers, watches: they recover with utilruntime.HandleCrash, which logs the value and
// then panics again for the runtime's raw print) to the handler OnPanic set, before either.
func CatchClientPanics() {
	utilruntime.PanicHandlers = []func(context.Context, any){func(_ context.Context, value any) {
		handlePanic(value, debug.Stack())
	}}
}

func handlePanic(value any, stack []byte) {
	panicMu.RLock()
	handle := onPanic
	panicMu.RUnlock()
	handle(value, stack)
}

// Go runs fn in a new goroutine whose panic, which may quote what the run was handling, goes
// through the redactor instead of the runtime's raw print. Every goroutine of the product is
// started with it (a test in shared/testutil finds any other go statement).
func Go(fn func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				handlePanic(r, debug.Stack())
			}
		}()
		fn()
	}()
}
