package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idgraph/idgraph/engine"
	"github.com/idgraph/idgraph/httpapi"
)

// TestMaxConcurrentRequests holds one request in progress (the fault hook
// blocks after its commit) and checks that, with MaxConcurrent 1, the next
// request is answered 503 with Retry-After at once.
func TestMaxConcurrentRequests(t *testing.T) {
	e := start(t, httpapi.Options{MaxConcurrent: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	httpapi.SetFailAfterCommit(e.srv, func([]engine.Record) bool {
		close(entered)
		<-release
		return false
	})
	first := make(chan int, 1)
	go func() {
		code, _ := e.post("/v1/track", `{"userId":"u1","event":"x"}`)
		first <- code
	}()
	<-entered
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/profiles/user:1", nil)
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" ||
		canon(t, string(b)) != `{"code":"BUSY","error":"too many requests in progress; retry later"}` {
		t.Errorf("second request: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	if code, reply := e.post("/v1/track", `{"userId":"u2","event":"x"}`); code != 503 ||
		canon(t, reply) != `{"error":"too many requests in progress; retry later","success":false}` {
		t.Errorf("second tracking request: %d %s", code, reply)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("first request: %d", code)
	}
	if e.who("user:u2") != nil {
		t.Error("the refused call was applied")
	}
}

// TestRetryAfterLostReplyCountsOnce: the server commits a request and then
// fails to acknowledge it (500); the client's retry of the same calls is
// acknowledged and counts nothing again.
func TestRetryAfterLostReplyCountsOnce(t *testing.T) {
	e := start(t, httpapi.Options{})
	var fails atomic.Int32
	httpapi.SetFailAfterCommit(e.srv, func([]engine.Record) bool { return fails.Add(1) == 1 })
	body := `{"batch":[{"type":"track","userId":"u1","event":"purchase","messageId":"a"},{"type":"identify","userId":"u1","traits":{"email":"u1@example.com"},"messageId":"b"}]}`
	if code, reply := e.post("/v1/batch", body); code != 500 {
		t.Fatalf("first try: %d %s, want the injected 500", code, reply)
	}
	if code, reply := e.post("/v1/batch", body); code != 200 || reply != ok {
		t.Fatalf("retry: %d %s", code, reply)
	}
	if p := e.who("user:u1"); p == nil || p.Events != 1 || len(p.IDs) != 2 {
		t.Errorf("after the retry: %+v, want one event and two ids", p)
	}
}

// TestSlowClientsAreCutOff: a client that stops in the middle of its
// headers, or of its body, is disconnected by the server.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := start(t, httpapi.Options{ReadHeaderTimeout: 50 * time.Millisecond, ReadTimeout: 100 * time.Millisecond})
	addr := strings.TrimPrefix(e.url, "http://")
	for name, partial := range map[string]string{
		"headers": "POST /v1/track HTTP/1.1\r\nHost: x\r\n",
		"body":    "POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"userId\":",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(partial)); err != nil {
			t.Fatal(err)
		}
		// Generous: the server must close well before this.
		conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
		_, err = io.ReadAll(conn)
		conn.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: the server kept a stalled client", name)
		}
	}
	if e.who("user:u1") != nil {
		t.Error("a cut-off request was applied")
	}
}

// TestTLS serves HTTPS with a certificate made here.
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	dir := t.TempDir()
	db, err := engine.Open(engine.DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := httpapi.New(db, nil, httpapi.Options{Logger: slog.New(slog.DiscardHandler),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Post("https://"+ln.Addr().String()+"/v1/track", "application/json", strings.NewReader(`{"userId":"u1","event":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HTTPS track: %d", resp.StatusCode)
	}
	if _, err := http.Post("http://"+ln.Addr().String()+"/v1/track", "application/json", strings.NewReader(`{"userId":"u2","event":"x"}`)); err == nil {
		if _, werr := db.Who("user:u2"); werr == nil {
			t.Error("plain HTTP was served on the TLS listener")
		}
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idgraph test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
