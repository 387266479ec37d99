package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// clientKey is the key of a client address for the failure limit: the
// address itself for IPv4, its /64 for IPv6 (one host usually holds a
// whole /64). The zero Addr stands for an address that cannot be read.
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a.WithZone("")
}

// client is who a failed check is charged to (the per-address limit):
// a client address, or, when a trusted proxy forwarded the request
// without naming a usable client, "an unknown client via" that proxy,
// a key of its own distinct from the proxy's address.
type client struct {
	addr    netip.Addr
	unknown bool // addr is the trusted proxy that named no usable client
}

func (c client) String() string {
	if c.unknown {
		return "unknown client via " + c.addr.String()
	}
	return c.addr.String()
}

// key is c for the failure limit (clientKey of its address).
func (c client) key() client { return client{clientKey(c.addr), c.unknown} }

// clientAddr is the address of r's client (see clientOf): the TCP peer,
// a forwarded client, or the trusted proxy that named none.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return clientOf(r, trusted).addr
}

// clientOf is r's client: the TCP peer, or, when the peer is one of the
// trusted proxies, the rightmost X-Forwarded-For hop that is not a
// trusted proxy (the header's lines taken in order, as one list). A hop
// may carry a port (192.0.2.7:51000, [2001:db8::1]:443) or brackets
// ([2001:db8::1]). When the hops run out, or one cannot be read, before
// an untrusted one, the client is unknown: "unknown client via" the
// last trusted proxy (nothing left of an unreadable hop is trusted). A
// request whose hops are all trusted proxies comes from the leftmost.
func clientOf(r *http.Request, trusted []netip.Prefix) client {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr()
	if err != nil {
		addr, _ = netip.ParseAddr(r.RemoteAddr) // a bare address (tests); else the zero Addr
	}
	addr = addr.Unmap()
	if len(trusted) == 0 || !inAny(addr, trusted) {
		return client{addr: addr}
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	if len(hops) == 0 {
		return client{addr: addr, unknown: true}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			return client{addr: addr, unknown: true}
		}
		addr = hop
		if !inAny(addr, trusted) {
			break
		}
	}
	return client{addr: addr}
}

// parseHop reads one X-Forwarded-For hop: an address, with or without a
// port, an IPv6 one with or without brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes (the --trusted-proxy flag).
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
