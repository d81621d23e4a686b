// cert-manager-e2e runs cert-manager's real controllers out of cluster, for the e2e tier.
//
// cert-manager's controller and cainjector binaries live in their own Go modules (cmd/controller,
// cmd/cainjector), which the Go module proxy does not serve. Their logic is in the main module
// github.com/cert-manager/cert-manager, which it does: this main wires that logic up the way those
// binaries do, with the flags the e2e tier needs under the real flags' names.
//
//	cert-manager-e2e controller --kubeconfig=... --cluster-resource-namespace=cert-manager \
//	    --dns01-recursive-nameservers=198.18.0.41:5353 --dns01-recursive-nameservers-only --leader-elect=false
//	cert-manager-e2e cainjector --kubeconfig=... --leader-elect=false
//
// The Venafi issuer is left out: its SDK (github.com/Venafi/vcert/v5) is refused by the module proxy. Vault
// is left out too (nothing here tests it, and it drags in a large SDK). Everything else the default
// controller set runs is here: ACME (orders, challenges), CA and self-signed issuance, the approver, the
// certificates-* controllers, issuers and clusterissuers.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cert-manager-e2e controller|cainjector|version [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "controller":
		err = runController(os.Args[2:])
	case "cainjector":
		err = runCAInjector(os.Args[2:])
	case "version":
		fmt.Println(version())
	default:
		err = fmt.Errorf("unknown command %q (want controller, cainjector or version)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-e2e %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
