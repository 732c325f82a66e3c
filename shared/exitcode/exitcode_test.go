package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{name: "nil is success", err: nil, want: CodeOK},
		{name: "plain error", err: errors.New("boom"), want: CodeError},
		{name: "usage", err: Usage("unknown flag %q", "--x"), want: CodeUsage},
		{name: "wrapped timeout", err: fmt.Errorf("converge: %w", Wrap(CodeTimeout, errors.New("late"))), want: CodeTimeout},
		{name: "outermost code wins", err: Wrap(CodeDeployFailed, fmt.Errorf("x: %w", Wrap(CodeTimeout, errors.New("y")))), want: CodeDeployFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapKeepsMessageAndNil(t *testing.T) {
	if Wrap(CodeTimeout, nil) != nil {
		t.Fatal("Wrap of nil must stay nil")
	}
	inner := errors.New("deployment/web not ready")
	err := Wrap(CodeTimeout, inner)
	if err.Error() != inner.Error() || !errors.Is(err, inner) {
		t.Fatalf("wrapped error lost its message or chain: %v", err)
	}
}
