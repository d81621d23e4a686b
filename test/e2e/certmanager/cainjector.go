package main

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
)

// runCAInjector runs cert-manager's cainjector reconcilers (pkg/controller/cainjector) in a
// controller-runtime manager set up like cmd/cainjector's: same scheme, same reconcilers, Certificates as
// a CA data source (for `cert-manager.io/inject-ca-from`).
func runCAInjector(args []string) error {
	fs := newFlagSet("cainjector")
	var (
		kubeconfig   = fs.String("kubeconfig", "", "kubeconfig of the cluster to manage")
		namespace    = fs.String("namespace", "", "only inject into objects in this namespace (cluster-scoped ones are then skipped)")
		leaderElect  = fs.Bool("leader-elect", false, "leader election (only false is supported out of cluster)")
		certificates = fs.Bool("enable-certificates-data-source", true, "read CAs from Certificates (inject-ca-from)")
		apiServices  = fs.Bool("enable-apiservices-injectable", true, "inject into APIServices")
		mutating     = fs.Bool("enable-mutatingwebhookconfigurations-injectable", true, "inject into MutatingWebhookConfigurations")
		validating   = fs.Bool("enable-validatingwebhookconfigurations-injectable", true, "inject into ValidatingWebhookConfigurations")
		crds         = fs.Bool("enable-customresourcedefinitions-injectable", true, "inject into CRD conversion webhooks")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *leaderElect {
		return errors.New("--leader-elect=true is not supported by this out-of-cluster runner")
	}
	ctx, stop := signalContext()
	defer stop()
	logf.InitLogs()
	ctrl.SetLogger(klog.NewKlogr())
	ctx = logf.NewContext(ctx, logf.Log, "cainjector")

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiext.AddToScheme(scheme))
	utilruntime.Must(apireg.AddToScheme(scheme))
	var namespaces map[string]cache.Config
	if *namespace != "" {
		namespaces = map[string]cache.Config{*namespace: {}}
	}
	mgr, err := ctrl.NewManager(util.RestConfigWithUserAgent(config, "cainjector"), ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true, DefaultNamespaces: namespaces},
		// Secrets are read from the API server, never cached whole: the injectors watch only their metadata
		// (builder.OnlyMetadata in pkg/controller/cainjector), as cmd/cainjector sets it up.
		Client:  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    *namespace,
		EnableCertificatesDataSource: *certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   *mutating,
			cainjector.ValidatingWebhookConfigurationName: *validating,
			cainjector.APIServiceName:                     *apiServices,
			cainjector.CustomResourceDefinitionName:       *crds,
		},
	})
	if err != nil {
		return fmt.Errorf("registering injectors: %w", err)
	}
	return mgr.Start(ctx)
}
