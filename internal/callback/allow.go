// Package callback decides where the fleet may POST job events: the hosts
// on MXFLEET_CALLBACK_ALLOW, never a private or loopback address unless an
// allowlist entry names it, and never through a redirect.
package callback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// EnvVar lists the allowed callback hosts.
const EnvVar = "MXFLEET_CALLBACK_ALLOW"

// Allow is a parsed allowlist: host names, IP addresses and CIDR prefixes.
type Allow struct {
	hosts    map[string]bool // lower-case names and IP literals
	prefixes []netip.Prefix  // IPs and CIDRs allowed even when private
}

// Parse reads "hooks.example.com, 10.1.2.3, 10.0.0.0/8, localhost".
// An empty list allows no callback at all.
func Parse(s string) (*Allow, error) {
	a := &Allow{hosts: map[string]bool{}}
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			a.prefixes = append(a.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			a.hosts[ip.String()] = true
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		if strings.ContainsAny(e, "/:@ ") {
			return nil, fmt.Errorf("%s: %q is not a host name, an IP or a CIDR", EnvVar, e)
		}
		a.hosts[e] = true
		if e == "localhost" {
			a.prefixes = append(a.prefixes, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
		}
	}
	return a, nil
}

// Check refuses a callback URL whose host is not allowed.
func (a *Allow) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return errors.New("callback_url must be an http(s) URL without credentials")
	}
	host := strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		if !a.listed(ip) {
			return fmt.Errorf("callback host %s is not on %s", host, EnvVar)
		}
		return nil
	}
	if a.hosts[host] {
		return nil
	}
	for h := range a.hosts {
		if strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) {
			return nil
		}
	}
	return fmt.Errorf("callback host %s is not on %s", host, EnvVar)
}

// listed tells whether an IP or CIDR entry names ip.
func (a *Allow) listed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// notPublic are ranges that reach private networks besides the ones the
// standard library names: carrier-grade NAT, and the IPv6 ranges that
// embed an IPv4 address (NAT64, 6to4, Teredo).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), netip.MustParsePrefix("2001::/32"), netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
}

// addrAllowed (at dial time, after the host name passed Check): public
// addresses, or others an entry names.
func (a *Allow) addrAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if a.listed(ip) {
		return true
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// Client returns an HTTP client for callbacks: it follows no redirect and
// connects only to addresses the allowlist permits, checked on the address
// actually dialled (so DNS cannot point an allowed name at a private host).
func (a *Allow) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if !a.addrAllowed(ip) {
			return fmt.Errorf("callback refused: %s is a private or loopback address not on %s", ip, EnvVar)
		}
		return nil
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
