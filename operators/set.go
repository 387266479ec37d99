package operators

import "strconv"

// valueSet is a prepared list of scalars with hashed membership (in,
// not_in, contains_any, contains_none).
type valueSet struct {
	nums     map[float64]struct{}
	strs     map[string]struct{} // folded when fold
	bools    [2]bool
	hasNull  bool
	fold     bool
	maxStr   int // the longest member string, in bytes
	elements []constant
}

func (a *Arg) valueSet(want string) (*valueSet, error) {
	raws, err := a.list(want)
	if err != nil {
		return nil, err
	}
	s := &valueSet{fold: a.IgnoreCase, nums: map[float64]struct{}{}, strs: map[string]struct{}{},
		elements: make([]constant, 0, len(raws))}
	for i, r := range raws {
		c, err := a.scalar(r, "", a.IgnoreCase)
		if err != nil {
			// again, to locate it (no pointer is built for good elements)
			_, err = a.scalar(r, "/"+strconv.Itoa(i), a.IgnoreCase)
			return nil, err
		}
		s.elements = append(s.elements, c)
		switch c.kind {
		case Null:
			s.hasNull = true
		case Bool:
			s.bools[b2i(c.b)] = true
		case Number:
			s.nums[c.num] = struct{}{}
		case String:
			s.strs[c.str] = struct{}{}
			s.maxStr = max(s.maxStr, len(c.str))
		}
	}
	return s, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// has reports whether a contact scalar equals a member (rule 1).
func (s *valueSet) has(v Value) bool {
	switch v.kind {
	case Bool:
		return s.bools[b2i(v.b)]
	case Number:
		_, ok := s.nums[v.num]
		return ok
	case String:
		if len(s.strs) > 0 {
			if s.fold {
				// Simple folding shrinks UTF-8 at most threefold (the
				// Kelvin sign to k), so a string over 4 times the longest
				// member is none of them: not folded (nor allocated).
				if len(v.str) <= 4*s.maxStr {
					var buf [128]byte
					if _, ok := s.strs[string(appendFold(buf[:0], v.str))]; ok {
						return true
					}
				}
			} else if _, ok := s.strs[v.str]; ok {
				return true
			}
		}
		if len(s.nums) > 0 {
			if n, ok := ParseDecimal(v.str); ok {
				_, ok = s.nums[n]
				return ok
			}
		}
	}
	return false
}
