// Package exitcode gives every failure of both plugins a documented process exit code.
// Commands wrap errors with a Code; main turns the outermost one into the exit status.
package exitcode

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Code is a process exit status with a documented meaning.
type Code int

const (
	// CodeOK is a successful run.
	CodeOK Code = 0
	// CodeError is a failure without a more specific code.
	CodeError Code = 1
	// CodeChangesPlanned is returned by plan commands with --exit-code when there are changes.
	CodeChangesPlanned Code = 2
	// CodeDeployFailed is a deploy that failed: an object was rejected, or a resource failed.
	CodeDeployFailed Code = 3
	// CodeTimeout is a deploy whose resources were not ready within --timeout.
	CodeTimeout Code = 4
	// CodeUsage is a bad command line: unknown flag, wrong arguments, invalid flag value.
	CodeUsage Code = 64
)

// Error carries an exit code along with the error it describes.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap attaches code to err; a nil err stays nil.
func Wrap(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usage returns a usage error built like fmt.Errorf.
func Usage(format string, args ...any) error {
	return &Error{Code: CodeUsage, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit code for err: the code of the outermost Error in its chain,
// CodeError for any other error and CodeOK for nil.
func Of(err error) Code {
	if err == nil {
		return CodeOK
	}
	var coded *Error
	if errors.As(err, &coded) {
		return coded.Code
	}
	return CodeError
}

// DeployFailure gives a failed deploy its exit code: CodeTimeout when the time given by
// --timeout ran out, however Helm or client-go said so, CodeDeployFailed otherwise.
func DeployFailure(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out waiting for the condition") || strings.Contains(err.Error(), "context deadline exceeded") {
		// Helm's own waits (hook deletion) end with the bare context error: say what it means.
		text := strings.ReplaceAll(err.Error(), "context deadline exceeded", "the time given by --timeout ran out")
		return Wrap(CodeTimeout, errors.New(text))
	}
	return Wrap(CodeDeployFailed, err)
}

// errQuiet is the error of an exit code that is an answer, not a failure (plan --exit-code).
var errQuiet = errors.New("no error: the exit code is the answer")

// Quiet returns an error that only sets the exit code; main prints nothing for it.
func Quiet(code Code) error { return &Error{Code: code, Err: errQuiet} }

// IsQuiet reports whether err only carries an exit code.
func IsQuiet(err error) bool { return errors.Is(err, errQuiet) }
