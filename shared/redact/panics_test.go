package redact

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
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

// TestClientPanicsReachTheRedactingHandler: a panic in an informer's event handler, which
// client-go runs in its own goroutine and recovers with utilruntime.HandleCrash, reaches the
// handler Main installs, masked, instead of client-go's log line and raw re-panic.
func TestClientPanicsReachTheRedactingHandler(t *testing.T) {
	const secret = "informer-SECRETMARKER-value"
	Add(secret)
	got := make(chan string, 1)
	OnPanic(func(value any, stack []byte) {
		var out strings.Builder
		fmt.Fprintf(NewWriter(&out), "Error: internal error (please report it): %v\n%s", value, stack)
		got <- out.String()
		// Main's handler exits the process here; this goroutine ends instead, so that
		// client-go's re-panic is never reached.
		runtime.Goexit()
	})
	handlers := utilruntime.PanicHandlers
	t.Cleanup(func() {
		OnPanic(func(value any, stack []byte) { panic(value) })
		utilruntime.PanicHandlers = handlers
	})
	CatchClientPanics()

	kube := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"}})
	factory := informers.NewSharedInformerFactory(kube, 0)
	informer := factory.Core().V1().ConfigMaps().Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(any) {
		panic("cannot use " + secret)
	}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	printed := <-got
	if strings.Contains(printed, secret) || !strings.HasPrefix(printed, "Error: internal error (please report it): cannot use "+Mask) {
		t.Fatalf("the panic printed as %q", printed)
	}
	if !strings.Contains(printed, "panics_test.go") {
		t.Fatalf("the stack does not show where the panic happened:\n%s", printed)
	}
}
