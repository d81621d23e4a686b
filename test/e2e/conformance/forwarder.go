// Package conformance runs cert-manager's own DNS-01 webhook conformance suite (test/acme) against
// dns01-webhook. cert-manager's suite drives a Go webhook.Solver; ours forwards every Present/CleanUp as a
// ChallengePayload over HTTPS to a real `dns01-webhook serve` process, authenticated as kube-apiserver's
// aggregator would be (a front-proxy client certificate plus X-Remote-* headers).
package conformance

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const groupName = "acme.conformance.test"

// forwardingSolver implements cert-manager's webhook.Solver by calling a dns01-webhook server.
type forwardingSolver struct {
	solverName string
	repoRoot   string
	workDir    string
	logFile    *os.File

	cmd    *exec.Cmd
	url    string
	client *http.Client
}

func (s *forwardingSolver) Name() string { return s.solverName }

// Initialize starts `dns01-webhook serve` with the suite's kube-apiserver (so Secrets are read from the
// test namespaces through the real API), and front-proxy trust limited to a CA made here.
func (s *forwardingSolver) Initialize(cfg *rest.Config, stopCh <-chan struct{}) error {
	kubeconfig := filepath.Join(s.workDir, "kubeconfig")
	if err := writeKubeconfig(cfg, kubeconfig); err != nil {
		return err
	}
	ca, caKey, err := newCA("conformance front-proxy CA")
	if err != nil {
		return err
	}
	caFile := filepath.Join(s.workDir, "front-proxy-ca.crt")
	if err := os.WriteFile(caFile, pemCert(ca), 0o600); err != nil {
		return err
	}
	clientCert, err := newClientCert(ca, caKey, "front-proxy-client")
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.cmd = exec.Command("node", filepath.Join(s.repoRoot, "packages/core/dist/cli/main.js"), "serve",
		"--group-name", groupName,
		"--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(port),
		"--kubeconfig", kubeconfig,
		"--requestheader-client-ca-file", caFile,
		"--requestheader-allowed-names", "front-proxy-client",
		"--metrics-port", "0",
		"--log-level", "debug",
	)
	s.cmd.Dir = s.repoRoot
	s.cmd.Stdout = s.logFile
	s.cmd.Stderr = s.logFile
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start dns01-webhook: %w", err)
	}
	// The fixture calls Initialize once per nested setup, each with its own stopCh: stop this process, not
	// whichever one s.cmd points at by then.
	proc := s.cmd
	go func() {
		<-stopCh
		_ = proc.Process.Signal(os.Interrupt)
		_, _ = proc.Process.Wait()
	}()
	s.url = fmt.Sprintf("https://127.0.0.1:%d", port)
	s.client = &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			// The server's certificate is self-signed here; the suite is about solver behaviour, and the
			// aggregation tier checks serving-certificate trust through kube-apiserver.
			InsecureSkipVerify: true,
			Certificates:       []tls.Certificate{clientCert},
		}},
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("dns01-webhook did not become ready; see %s", s.logFile.Name())
}

func (s *forwardingSolver) Present(ch *whapi.ChallengeRequest) error { return s.call(ch, whapi.ChallengeActionPresent) }
func (s *forwardingSolver) CleanUp(ch *whapi.ChallengeRequest) error { return s.call(ch, whapi.ChallengeActionCleanUp) }

// call sends one ChallengePayload the way kube-apiserver's aggregator proxies cert-manager's request.
func (s *forwardingSolver) call(ch *whapi.ChallengeRequest, action whapi.ChallengeAction) error {
	req := *ch
	req.Action = action
	req.Type = "dns-01"
	body, err := json.Marshal(whapi.ChallengePayload{Request: &req})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost,
		fmt.Sprintf("%s/apis/%s/v1alpha1/%s", s.url, groupName, s.solverName), bytes.NewReader(body))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("X-Remote-User", "system:serviceaccount:cert-manager:cert-manager")
	httpReq.Header.Add("X-Remote-Group", "system:masters")
	httpReq.Header.Add("X-Remote-Group", "system:authenticated")
	resp, err := s.client.Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("dns01-webhook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var payload whapi.ChallengePayload
	if err := json.Unmarshal(raw, &payload); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	if payload.Response == nil {
		return fmt.Errorf("response without a `response` field: %s", raw)
	}
	if !payload.Response.Success {
		msg := "(no message)"
		if payload.Response.Result != nil {
			msg = payload.Response.Result.Message
		}
		return fmt.Errorf("%s failed: %s", action, msg)
	}
	return nil
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["suite"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["suite"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	kc.Contexts["suite"] = &clientcmdapi.Context{Cluster: "suite", AuthInfo: "suite"}
	kc.CurrentContext = "suite"
	return clientcmd.WriteToFile(*kc, path)
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newClientCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// childProcAttr puts a child in its own process group and kills it if this test process dies first.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
