package operators

import (
	"net/netip"
	"strings"
)

// in_cidr: the field is an IPv4 or IPv6 address inside one of the
// networks (a CIDR, or an IP for a single address).
var opInCIDR = &Operator{Name: "in_cidr", PrepareScalar: func(a *Arg) (*Scalar, error) {
	keep := a.IgnoreCase
	a.IgnoreCase = false
	nets, err := a.stringOrList()
	a.IgnoreCase = keep
	if err != nil {
		return nil, err
	}
	prefixes := make([]netip.Prefix, len(nets))
	for i, n := range nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			addr, aerr := netip.ParseAddr(n)
			if aerr != nil {
				sub := ""
				if a.Value[0] == '[' {
					sub = "/" + itoa(i)
				}
				return nil, a.Errorf(sub, "%q is neither a CIDR nor an IP address", n)
			}
			addr = addr.Unmap()
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		prefixes[i] = p.Masked()
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
