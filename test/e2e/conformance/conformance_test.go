package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	acmetest "github.com/cert-manager/cert-manager/test/acme"
)

// zone every emulator hosts for the suite.
const zone = "conformance.test."

// provider says how to start one emulator and how an Issuer would configure our solver for it.
type provider struct {
	solver string
	// the emulator's main, default `test/emulators/<solver>/main.ts`
	emulatorMain string
	// emulator flags after its main
	emulatorArgs []string
	// config.json for the Issuer, given the running emulator (API URL, DNS address)
	config func(emu emulatorInfo) string
	// Secret manifests applied into the suite's test namespace
	secrets string
}

var providers = []provider{
	{
		solver:       "dnspod",
		emulatorArgs: []string{"--zones", strings.TrimSuffix(zone, "."), "--secret-id", "AKIDconformance000000000000000000000", "--secret-key", "conformance-secret-key"},
		// The config shape existing imroc users have, verbatim, plus the endpoint override.
		config: func(emu emulatorInfo) string {
			return fmt.Sprintf(`{"secretId":"AKIDconformance000000000000000000000","secretKeyRef":{"name":"dnspod-secret","key":"secret-key"},"ttl":600,"endpoint":%q}`, emu.URL)
		},
		secrets: secretManifest("dnspod-secret", "secret-key", "conformance-secret-key"),
	},
	{
		solver:       "route53",
		emulatorArgs: []string{"--zones", strings.TrimSuffix(zone, "."), "--access-key-id", "AKIACONFORMANCE00001", "--secret-access-key", "conformance-secret"},
		config: func(emu emulatorInfo) string {
			return fmt.Sprintf(`{"region":"us-east-1","accessKeyID":"AKIACONFORMANCE00001","secretAccessKeySecretRef":{"name":"route53-secret","key":"secret-access-key"},"endpoint":%q}`, emu.URL)
		},
		secrets: secretManifest("route53-secret", "secret-access-key", "conformance-secret"),
	},
	{
		solver:       "cloudflare",
		emulatorArgs: []string{"--zones", strings.TrimSuffix(zone, "."), "--token", "conformance-token-0000000000000000000000"},
		config: func(emu emulatorInfo) string {
			return fmt.Sprintf(`{"apiTokenSecretRef":{"name":"cloudflare-token","key":"api-token"},"endpoint":%q}`, emu.URL)
		},
		secrets: secretManifest("cloudflare-token", "api-token", "conformance-token-0000000000000000000000"),
	},
	{
		// No emulator: a real Knot DNS server (test/rfc2136/main.ts) with a TSIG key, updated with RFC 2136.
		solver:       "rfc2136",
		emulatorMain: "test/rfc2136/main.ts",
		emulatorArgs: []string{"--zones", strings.TrimSuffix(zone, "."), "--tsig-secret", rfc2136Secret},
		// cert-manager's built-in rfc2136 block, verbatim in shape.
		config: func(emu emulatorInfo) string {
			return fmt.Sprintf(`{"nameserver":%q,"tsigKeyName":"acme-hmac-sha256.","tsigAlgorithm":"HMACSHA256","tsigSecretSecretRef":{"name":"tsig-secret","key":"tsig-secret"}}`, emu.DNS)
		},
		secrets: secretManifest("tsig-secret", "tsig-secret", rfc2136Secret),
	},
}

// rfc2136Secret is the TSIG secret (base64) of the Knot server's keys in the suite.
const rfc2136Secret = "Y29uZm9ybWFuY2UtdHNpZy1zZWNyZXQtMDAwMDAwMDA="


func secretManifest(name, key, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n  %s: %q\n", name, key, value)
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}

// emulatorInfo is the JSON line every emulator's main.ts prints when ready.
type emulatorInfo struct {
	URL string `json:"url"`
	DNS string `json:"dns"` // host:port of its authoritative DNS server
}

// startEmulator runs the provider emulator as its own process and reads the JSON line it prints when ready.
func startEmulator(t *testing.T, root string, p provider, log *os.File) emulatorInfo {
	// node itself (not npx) so that killing cmd kills the emulator, not just a wrapper.
	main := p.emulatorMain
	if main == "" {
		main = filepath.Join("test/emulators", p.solver, "main.ts")
	}
	args := append([]string{"--import", "tsx", main, "--host", "127.0.0.1", "--port", "0", "--dns-port", "0"}, p.emulatorArgs...)
	cmd := exec.Command("node", args...)
	cmd.Dir = root
	cmd.Stderr = log
	cmd.SysProcAttr = childProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s emulator: %v", p.solver, err)
	}
	// SIGTERM first: an emulator (or test/rfc2136/main.ts with its Knot server) then removes its temp files;
	// SIGKILL only if it does not exit in time.
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "{") {
				lines <- sc.Text()
				break
			}
		}
		_, _ = bufio.NewReader(out).WriteTo(log)
	}()
	select {
	case line := <-lines:
		var info emulatorInfo
		if err := json.Unmarshal([]byte(line), &info); err != nil {
			t.Fatalf("%s emulator printed %q: %v", p.solver, line, err)
		}
		return info
	case <-time.After(60 * time.Second):
		t.Fatalf("%s emulator did not start; see %s", p.solver, log.Name())
	}
	return emulatorInfo{}
}

func TestConformance(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "packages/core/dist/cli/main.js")); err != nil {
		t.Fatalf("build the webhook first (npm run build): %v", err)
	}
	for _, p := range providers {
		t.Run(p.solver, func(t *testing.T) {
			work := t.TempDir()
			logFile, err := os.Create(filepath.Join(os.TempDir(), "dns01-conformance-"+p.solver+".log"))
			if err != nil {
				t.Fatal(err)
			}
			defer logFile.Close()
			emu := startEmulator(t, root, p, logFile)
			manifests := filepath.Join(work, "testdata")
			if err := os.MkdirAll(manifests, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(manifests, "config.json"), []byte(p.config(emu)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(manifests, "secret.yaml"), []byte(p.secrets), 0o644); err != nil {
				t.Fatal(err)
			}
			solver := &forwardingSolver{solverName: p.solver, repoRoot: root, workDir: work, logFile: logFile}
			fixture := acmetest.NewFixture(solver,
				acmetest.SetResolvedZone(zone),
				acmetest.SetResolvedFQDN("_acme-challenge."+p.solver+"."+zone),
				acmetest.SetAllowAmbientCredentials(false),
				acmetest.SetManifestPath(manifests),
				acmetest.SetDNSServer(emu.DNS),
				acmetest.SetUseAuthoritative(false),
				acmetest.SetStrict(true),
				acmetest.SetPollInterval(500*time.Millisecond),
				acmetest.SetPropagationLimit(60*time.Second),
			)
			fixture.RunConformance(t)
		})
	}
}
