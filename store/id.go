package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// IDGen makes segment ids: 24 lowercase hex digits (12 bytes, the shape
// of a MongoDB ObjectId, so Tiledesk clients accept them). The first 4
// bytes are the creation time in Unix seconds, big-endian, so ids sort by
// creation time; the other 8 start at a random value each second and count
// up within it. Ids from one generator are strictly increasing, even when
// the clock stands still or steps back, so within a store they are unique
// and sort in creation order; across stores they are unique with
// overwhelming probability.
//
// The zero IDGen is ready to use and safe for concurrent use.
type IDGen struct {
	mu   sync.Mutex
	last [12]byte
}

// Next returns a new id for a segment created at now.
func (g *IDGen) Next(now time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var id [12]byte
	sec := uint32(now.Unix())
	lastSec := binary.BigEndian.Uint32(g.last[:4])
	if sec > lastSec {
		binary.BigEndian.PutUint32(id[:4], sec)
		_, _ = rand.Read(id[4:]) // crypto/rand.Read never fails
		id[4] &= 0x7f            // leave room to count up within the second
	} else {
		id = g.last
		n := binary.BigEndian.Uint64(id[4:]) + 1
		if n == 0 { // 2^64 ids in one second: move on to the next second
			binary.BigEndian.PutUint32(id[:4], lastSec+1)
		}
		binary.BigEndian.PutUint64(id[4:], n)
	}
	g.last = id
	return hex.EncodeToString(id[:])
}

// Observe makes every later id greater than id (a persistent store calls
// it with its greatest id when it opens). Malformed ids are ignored.
func (g *IDGen) Observe(id string) {
	if !ValidID(id) {
		return
	}
	var b [12]byte
	_, _ = hex.Decode(b[:], []byte(id))
	g.mu.Lock()
	defer g.mu.Unlock()
	if string(b[:]) > string(g.last[:]) {
		g.last = b
	}
}

// ValidID reports whether id has the shape of a segment id (24 lowercase
// hex digits). A store answers ErrNotFound for any other id.
func ValidID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IDTime returns the creation second encoded in a valid id.
func IDTime(id string) time.Time {
	var b [4]byte
	if len(id) < 8 {
		return time.Time{}
	}
	if _, err := hex.Decode(b[:], []byte(id[:8])); err != nil {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint32(b[:])), 0).UTC()
}
