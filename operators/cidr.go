package operators

import (
	"net/netip"
	"strconv"
	"strings"
)

// in_cidr: the field is an IPv4 or IPv6 address inside one of the
// networks (a CIDR, or an IP for a single address).
var opInCIDR = &Operator{Name: "in_cidr", PrepareScalar: func(a *Arg) (*Scalar, error) {
	nets, err := a.stringOrList(false) // addresses are never folded
	if err != nil {
		return nil, err
	}
	prefixes := make([]netip.Prefix, len(nets))
	for i, n := range nets {
		p, ok := ParseNetwork(n)
		if !ok {
			sub := ""
			if a.Value[0] == '[' {
				sub = "/" + strconv.Itoa(i)
			}
			return nil, a.Errorf(sub, "%q is neither a CIDR nor an IP address", n)
		}
		prefixes[i] = p
	}
	return &Scalar{Str: func(s string) bool {
		if !maybeAddr(s) {
			return false // not an address; spares ParseAddr's error allocation
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		addr = addr.Unmap()
		for _, p := range prefixes {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	}}, nil
}}

// ParseNetwork reads one in_cidr network: a CIDR, or an IP address for
// that single address. It returns the masked prefix in_cidr tests, with
// an IPv4-mapped IPv6 network of at least 96 bits rewritten as the IPv4
// network (contact addresses are unmapped before the test, so the mapped
// form would match nothing). An address's zone is dropped. ok is false
// when s is neither a CIDR nor an IP address. sqlgen uses it too, so that
// SQL tests exactly the networks the evaluator does.
func ParseNetwork(s string) (p netip.Prefix, ok bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		addr = addr.Unmap()
		p = netip.PrefixFrom(addr, addr.BitLen()) // drops a zone
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// maybeAddr is a cheap necessary condition for netip.ParseAddr to accept
// s: its error allocates, and a contact may hold a million strings that
// are not addresses. Dotted IPv4 is checked exactly; IPv6 by its
// alphabet, length and colon count (a zone after '%' is left to
// ParseAddr).
func maybeAddr(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	if strings.IndexByte(s, ':') < 0 {
		// IPv4: four decimal parts of 1 to 3 digits.
		parts, digits := 1, 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c >= '0' && c <= '9':
				if digits++; digits > 3 {
					return false
				}
			case c == '.' && digits > 0:
				parts, digits = parts+1, 0
			default:
				return false
			}
		}
		return parts == 4 && digits > 0
	}
	colons := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colons++
		case c == '%':
			return colons >= 2
		case c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return colons >= 2 && colons <= 7
}
