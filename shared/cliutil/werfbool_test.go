package cliutil

import (
	"io"
	"testing"

	"github.com/spf13/pflag"
)

// werf reads a variable of a flag that defaults to true with GetBoolEnvironmentDefaultTrue
// (only "0", "false" and "no" are false), one that defaults to false with
// GetBoolEnvironmentDefaultFalse (only "1", "true" and "yes" are true).
func TestWerfBooleanVariables(t *testing.T) {
	tests := []struct {
		env           string
		hooks, withNS bool
	}{
		{"false", false, false},
		{"0", false, false},
		{"no", false, false},
		{"true", true, true},
		{"1", true, true},
		{"yes", true, true},
		{"on", true, false},
		// werf compares the words as spelt.
		{"TRUE", true, false},
		{"FALSE", true, false},
		{" 1", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			fs := pflag.NewFlagSet("dismiss", pflag.ContinueOnError)
			hooks, withNS := fs.Bool("with-hooks", true, ""), fs.Bool("with-namespace", false, "")
			if _, err := ApplyWerfEnvironment(fs, WerfDismiss, []string{"WERF_WITH_HOOKS=" + tt.env, "WERF_WITH_NAMESPACE=" + tt.env}, io.Discard); err != nil {
				t.Fatal(err)
			}
			if *hooks != tt.hooks || *withNS != tt.withNS {
				t.Errorf("with-hooks %v with-namespace %v, want %v %v", *hooks, *withNS, tt.hooks, tt.withNS)
			}
		})
	}
}
