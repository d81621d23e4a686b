// Command refwebhook is the Go reference for `npm run bench`: cert-manager's own webhook framework
// (pkg/acme/webhook/cmd.RunWebhookServer, as in cert-manager/webhook-example) with a solver that does nothing,
// so the benchmark measures the framework (TLS, delegated auth, routing, decoding), not a DNS provider.
// Flags are k8s.io/apiserver's (--secure-port, --tls-cert-file, --authentication-kubeconfig, ...).
package main

import (
	"fmt"
	"os"

	"github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/acme/webhook/cmd"
	"k8s.io/client-go/rest"
)

type noopSolver struct{}

func (noopSolver) Name() string                                   { return "noop" }
func (noopSolver) Present(*v1alpha1.ChallengeRequest) error       { return nil }
func (noopSolver) CleanUp(*v1alpha1.ChallengeRequest) error       { return nil }
func (noopSolver) Initialize(*rest.Config, <-chan struct{}) error { return nil }

func main() {
	group := os.Getenv("GROUP_NAME")
	if group == "" {
		fmt.Fprintln(os.Stderr, "GROUP_NAME must be set (the API group, as in webhook-example)")
		os.Exit(2)
	}
	cmd.RunWebhookServer(group, noopSolver{})
}
