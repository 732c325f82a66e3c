package exitcode

import (
	"context"
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

func TestDeployFailure(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode Code
		wantText string
	}{
		{name: "nil stays nil", err: nil, wantCode: CodeOK},
		{name: "rejected object", err: errors.New("deployment/web: forbidden"), wantCode: CodeDeployFailed, wantText: "deployment/web: forbidden"},
		{name: "deadline in the chain", err: fmt.Errorf("wait: %w", context.DeadlineExceeded), wantCode: CodeTimeout, wantText: "wait: the time given by --timeout ran out"},
		{name: "helm's bare context error as text", err: errors.New("hook deletion: context deadline exceeded"), wantCode: CodeTimeout, wantText: "hook deletion: the time given by --timeout ran out"},
		{name: "client-go's wait", err: errors.New("timed out waiting for the condition"), wantCode: CodeTimeout, wantText: "timed out waiting for the condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DeployFailure(tt.err)
			if Of(got) != tt.wantCode {
				t.Fatalf("DeployFailure(%v) has code %d, want %d", tt.err, Of(got), tt.wantCode)
			}
			if got != nil && got.Error() != tt.wantText {
				t.Fatalf("DeployFailure(%v) = %q, want %q", tt.err, got, tt.wantText)
			}
		})
	}
}
