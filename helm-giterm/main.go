// Command helm-giterm is the plugin "helm giterm".
package main

import (
	"github.com/kubectl-converge/converge/helm-giterm/cmd"
	"github.com/kubectl-converge/converge/shared/cliutil"
)

func main() { cliutil.Main(cmd.NewCmdGiterm) }
