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
		if strings.IndexByte(s, '.') < 0 && strings.IndexByte(s, ':') < 0 {
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
