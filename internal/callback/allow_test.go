package callback_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/callback"
)

func TestAllowlist(t *testing.T) {
	a, err := callback.Parse("hooks.example.com, *.partner.example, 10.1.2.3, 192.168.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	for url, ok := range map[string]bool{
		"https://hooks.example.com/x":      true,
		"https://a.partner.example/x":      true,
		"https://evil.example.com/x":       false,
		"http://10.1.2.3:8080/x":           true,
		"http://10.1.2.4/x":                false,
		"http://192.168.7.7/x":             true,
		"http://127.0.0.1/x":               false,
		"http://93.184.216.34/x":           false, // public, but not listed
		"http://[2606:4700::1]/x":          false,
		"http://[64:ff9b::a00:1]/x":        false, // NAT64 wrapping 10.0.0.1
		"ftp://hooks.example.com/x":        false,
		"https://u:p@hooks.example.com/x":  false,
		"https://hooks.example.com.evil/x": false,
	} {
		if err := a.Check(url); (err == nil) != ok {
			t.Errorf("%s: %v", url, err)
		}
	}
	if _, err := callback.Parse("https://x/y"); err == nil {
		t.Fatal("a URL was accepted as a host")
	}
}

func TestClientRefusesLoopbackUnlessListedAndRedirects(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(204)
	}))
	defer hs.Close()
	closed, _ := callback.Parse("hooks.example.com")
	if _, err := closed.Client(time.Second).Get(hs.URL); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("loopback not refused: %v", err)
	}
	open, _ := callback.Parse("127.0.0.1")
	resp, err := open.Client(time.Second).Get(hs.URL + "/redirect")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect followed or failed: %v %v", resp, err)
	}
}
