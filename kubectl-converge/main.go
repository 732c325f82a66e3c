// Command kubectl-converge is the plugin "kubectl converge".
package main

import (
	"github.com/kubectl-converge/converge/kubectl-converge/cmd"
	"github.com/kubectl-converge/converge/shared/cliutil"
)

func main() { cliutil.Main(cmd.NewCmdConverge) }
