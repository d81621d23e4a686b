// Command loadgen drives one HTTPS endpoint for `npm run bench`: N workers, each with its own keep-alive
// connection, POST (or GET) the same request back to back for a fixed count or duration, authenticated with a
// client certificate (and optional headers such as X-Remote-User). It prints one JSON line: requests, errors,
// requests/s, latency percentiles, status counts and the protocol the connections negotiated.
//
// It is written in Go so that neither server's runtime measures itself.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	FirstError  string         `json:"firstError,omitempty"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	P50Ms       float64        `json:"p50Ms"`
	P90Ms       float64        `json:"p90Ms"`
	P99Ms       float64        `json:"p99Ms"`
	MaxMs       float64        `json:"maxMs"`
	Status      map[string]int `json:"status"`
	Protocols   map[string]int `json:"protocols"`
	Concurrency int            `json:"concurrency"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	url := flag.String("url", "", "target URL")
	method := flag.String("method", "POST", "HTTP method")
	bodyFile := flag.String("body", "", "request body file (sent as application/json)")
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "client key (PEM)")
	caFile := flag.String("ca", "", "CA that signed the server's certificate (PEM)")
	concurrency := flag.Int("c", 16, "concurrent workers (one keep-alive connection each with HTTP/1.1)")
	count := flag.Int("n", 0, "total requests (0: run for -d)")
	duration := flag.Duration("d", 5*time.Second, "measuring time when -n is 0")
	warmup := flag.Duration("warmup", time.Second, "unmeasured requests first (connections, caches, JIT)")
	expect := flag.Int("expect", 201, "status that counts as success")
	h2 := flag.Bool("h2", false, "offer HTTP/2 (ALPN h2) like kube-apiserver's proxy does; default HTTP/1.1 only")
	var headers headerList
	flag.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" {
		fail("-url is required")
	}

	var body []byte
	if *bodyFile != "" {
		var err error
		if body, err = os.ReadFile(*bodyFile); err != nil {
			fail("%v", err)
		}
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail("%v", err)
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			fail("no certificate in %s", *caFile)
		}
	}
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail("%v", err)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	transport := &http.Transport{
		TLSClientConfig:     tlsConfig,
		MaxIdleConns:        *concurrency,
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
		IdleConnTimeout:     60 * time.Second,
		ForceAttemptHTTP2:   *h2,
	}
	if !*h2 {
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: transport, Timeout: 70 * time.Second}
	parsedHeaders := http.Header{}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fail("header %q is not 'Name: value'", h)
		}
		parsedHeaders.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}

	var mu sync.Mutex
	status := map[string]int{}
	protocols := map[string]int{}
	var firstError string
	record := func(code string, proto string, err error) {
		mu.Lock()
		defer mu.Unlock()
		status[code]++
		if proto != "" {
			protocols[proto]++
		}
		if err != nil && firstError == "" {
			firstError = err.Error()
		}
	}
	do := func() (time.Duration, bool) {
		req, err := http.NewRequest(*method, *url, bytes.NewReader(body))
		if err != nil {
			fail("%v", err)
		}
		req.Header = parsedHeaders.Clone()
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			record("error", "", err)
			return time.Since(start), false
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		elapsed := time.Since(start)
		if err != nil {
			record("error", res.Proto, err)
			return elapsed, false
		}
		if res.StatusCode != *expect {
			record(fmt.Sprint(res.StatusCode), res.Proto, fmt.Errorf("HTTP %d", res.StatusCode))
			return elapsed, false
		}
		record(fmt.Sprint(res.StatusCode), res.Proto, nil)
		return elapsed, true
	}

	// Warm-up: every worker opens its connection and sends requests until the warm-up time is over.
	run := func(until time.Time, total int, measure bool) ([]time.Duration, int, time.Duration) {
		var wg sync.WaitGroup
		var issued atomic.Int64
		var errors atomic.Int64
		perWorker := make([][]time.Duration, *concurrency)
		started := time.Now()
		for w := 0; w < *concurrency; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					if total > 0 {
						if issued.Add(1) > int64(total) {
							return
						}
					} else if time.Now().After(until) {
						return
					}
					elapsed, ok := do()
					if !ok {
						errors.Add(1)
					}
					if measure {
						perWorker[w] = append(perWorker[w], elapsed)
					}
				}
			}(w)
		}
		wg.Wait()
		var all []time.Duration
		for _, l := range perWorker {
			all = append(all, l...)
		}
		return all, int(errors.Load()), time.Since(started)
	}
	if *warmup > 0 {
		run(time.Now().Add(*warmup), 0, false)
		mu.Lock()
		status, protocols, firstError = map[string]int{}, map[string]int{}, ""
		mu.Unlock()
	}
	latencies, errors, elapsed := run(time.Now().Add(*duration), *count, true)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	out := result{
		Requests:    len(latencies),
		Errors:      errors,
		FirstError:  firstError,
		Seconds:     elapsed.Seconds(),
		RPS:         float64(len(latencies)-errors) / elapsed.Seconds(),
		P50Ms:       percentile(latencies, 0.50),
		P90Ms:       percentile(latencies, 0.90),
		P99Ms:       percentile(latencies, 0.99),
		Status:      status,
		Protocols:   protocols,
		Concurrency: *concurrency,
	}
	if len(latencies) > 0 {
		out.MaxMs = float64(latencies[len(latencies)-1].Microseconds()) / 1000
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}
