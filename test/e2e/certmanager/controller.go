package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	"github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	cracme "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	crapprover "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Issuer types the issuers/clusterissuers and certificaterequests controllers can set up. Not Venafi
	// (its SDK is not served by the module proxy) and not Vault (not exercised here).
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// defaultControllers is cert-manager v1.21's default controller set (DefaultEnabledControllers) minus the
// Venafi and Vault certificaterequests controllers and the ingress shim (no Ingresses in this tier).
// Importing a controller's package registers it in controller.Known().
var defaultControllers = []string{
	issuers.ControllerName,
	clusterissuers.ControllerName,
	certmetrics.ControllerName,
	acmeorders.ControllerName,
	acmechallenges.ControllerName,
	cracme.CRControllerName,
	crapprover.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
}

// stringList is a comma-separated list flag (like pflag's StringSlice that the real binary uses).
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// newFlagSet has klog's -v (cert-manager logs through klog) next to the command's own flags.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.Var(klogFlags.Lookup("v").Value, "v", "log verbosity (cert-manager: 2 = info, 4 = debug)")
	return fs
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// serveMetrics serves cert-manager's Prometheus registry (what --metrics-listen-address does) until ctx ends.
func serveMetrics(ctx context.Context, g *errgroup.Group, m interface {
	NewServer(net.Listener) *http.Server
}, address string) error {
	if address == "" || address == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("metrics listener %s: %w", address, err)
	}
	srv := m.NewServer(ln)
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx) //nolint:contextcheck
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

func runController(args []string) error {
	fs := newFlagSet("controller")
	var (
		kubeconfig          = fs.String("kubeconfig", "", "kubeconfig of the cluster to manage")
		namespace           = fs.String("namespace", "", "limit cert-manager to one namespace (ClusterIssuers are then disabled)")
		clusterResourceNs   = fs.String("cluster-resource-namespace", "kube-system", "namespace of the Secrets ClusterIssuers refer to")
		leaderElect         = fs.Bool("leader-elect", false, "leader election (only false is supported out of cluster)")
		dns01Nameservers    stringList
		dns01NameserverOnly = fs.Bool("dns01-recursive-nameservers-only", false, "check DNS-01 propagation with the recursive nameservers only (no authoritative lookups)")
		dns01CheckRetry     = fs.Duration("dns01-check-retry-period", 10*time.Second, "time between DNS-01 propagation checks")
		maxChallenges       = fs.Int("max-concurrent-challenges", 60, "challenges processed at once")
		workers             = fs.Int("concurrent-workers", 5, "workers per controller")
		ambientCluster      = fs.Bool("cluster-issuer-ambient-credentials", true, "ClusterIssuers may use ambient credentials")
		ambientIssuer       = fs.Bool("issuer-ambient-credentials", false, "Issuers may use ambient credentials")
		ownerRef            = fs.Bool("enable-certificate-owner-ref", false, "make Certificates owners of their Secrets")
		qps                 = fs.Float64("kube-api-qps", 20, "client QPS when API Priority and Fairness is off")
		burst               = fs.Int("kube-api-burst", 50, "client burst when API Priority and Fairness is off")
		metricsAddress      = fs.String("metrics-listen-address", "0", "Prometheus metrics address (0: off)")
		controllers         = stringList(defaultControllers)
	)
	fs.Var(&dns01Nameservers, "dns01-recursive-nameservers", "host:port list of nameservers for DNS-01 self-checks and zone lookups")
	fs.Var(&controllers, "controllers", "controllers to run ('*' = this binary's default set)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *leaderElect {
		return errors.New("--leader-elect=true is not supported by this out-of-cluster runner")
	}
	if slices.Contains(controllers, "*") {
		controllers = defaultControllers
	}
	known := controller.Known()
	for _, name := range controllers {
		if _, ok := known[name]; !ok {
			return fmt.Errorf("--controllers: %q is not built into this binary (have: %s)", name, strings.Join(sortedKeys(known), ", "))
		}
	}

	ctx, stop := signalContext()
	defer stop()
	logf.InitLogs()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)

	// The real binary's defaults for the HTTP-01 solver pods (unused here: no HTTP-01 challenges).
	quantity := resource.MustParse
	nameservers := []string(dns01Nameservers)
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   float32(*qps),
		KubernetesAPIBurst: *burst,
		Namespace:          *namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        *clusterResourceNs,
			ClusterIssuerAmbientCredentials: *ambientCluster,
			IssuerAmbientCredentials:        *ambientIssuer,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 "quay.io/jetstack/cert-manager-acmesolver:unused",
			HTTP01SolverResourceRequestCPU:    quantity("10m"),
			HTTP01SolverResourceRequestMemory: quantity("64Mi"),
			HTTP01SolverResourceLimitsCPU:     quantity("100m"),
			HTTP01SolverResourceLimitsMemory:  quantity("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			DNS01Nameservers:                  nameservers,
			DNS01CheckAuthoritative:           !*dns01NameserverOnly,
			DNS01CheckRetryPeriod:             *dns01CheckRetry,
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           *ownerRef,
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: *maxChallenges},
	})
	if err != nil {
		return err
	}
	root, err := factory.Build()
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	if err := serveMetrics(ctx, g, root.Metrics, *metricsAddress); err != nil {
		return err
	}
	log.Info("starting controllers", "controllers", controllers, "nameservers", nameservers, "recursiveOnly", *dns01NameserverOnly, "clusterResourceNamespace", *clusterResourceNs)
	for _, name := range controllers {
		if *namespace != "" && name == clusterissuers.ControllerName {
			continue // as the real binary: no ClusterIssuers when scoped to a namespace
		}
		iface, err := known[name](factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		g.Go(func() error { return iface.Run(*workers, ctx) })
	}
	// Informers start after every controller registered its listers (as the real binary does).
	root.SharedInformerFactory.Start(ctx.Done())
	root.KubeSharedInformerFactory.Start(ctx.Done())
	root.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	err = g.Wait()
	root.HTTP01ResourceMetadataInformersFactory.Shutdown()
	root.KubeSharedInformerFactory.Shutdown()
	root.SharedInformerFactory.Shutdown()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("control loops exited")
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
