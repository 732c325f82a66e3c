// Package e2e tests the plugins end to end: the real binaries, through the real kubectl and
// helm front ends, against the local cluster started by tools/cluster.sh.
package e2e

import (
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
