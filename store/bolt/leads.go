package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/segmatch/segmatch/store"
)

// Leads live in bucket "leads": one bucket per project, keyed by project
// id, mapping a lead id to its place in the project's order (8 bytes,
// big-endian, from the project bucket's sequence) followed by the lead's
// JSON as given. A replaced lead keeps its place.
var bucketLeads = []byte("leads")

const seqBytes = 8

// PutLeads implements store.LeadStore: one bbolt transaction, fsync'd
// before it returns.
func (s *Store) PutLeads(ctx context.Context, project string, leads []store.Lead) error {
	if err := s.leadBegin(ctx, project); err != nil {
		return err
	}
	if err := store.CheckLeads(project, leads); err != nil {
		return err
	}
	if len(leads) == 0 {
		return nil
	}
	err := s.update(func(tx *bbolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(bucketLeads)
		if err != nil {
			return err
		}
		b, err := root.CreateBucketIfNotExists([]byte(project))
		if err != nil {
			return err
		}
		var buf []byte
		for _, l := range leads {
			key := []byte(l.ID)
			var seq uint64
			if old := b.Get(key); len(old) >= seqBytes {
				seq = binary.BigEndian.Uint64(old)
			} else if seq, err = b.NextSequence(); err != nil {
				return err
			}
			buf = binary.BigEndian.AppendUint64(buf[:0], seq)
			buf = append(buf, l.Raw...)
			// bbolt keeps the value slice until the commit: a copy each.
			if err := b.Put(key, bytes.Clone(buf)); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err)
}

// DeleteLead implements store.LeadStore.
func (s *Store) DeleteLead(ctx context.Context, project, id string) error {
	if err := s.leadBegin(ctx, project); err != nil {
		return err
	}
	if store.CheckLeadID(id) != nil {
		return store.ErrLeadNotFound
	}
	err := s.update(func(tx *bbolt.Tx) error {
		root := tx.Bucket(bucketLeads)
		if root == nil {
			return store.ErrLeadNotFound
		}
		b := root.Bucket([]byte(project))
		if b == nil || b.Get([]byte(id)) == nil {
			return store.ErrLeadNotFound
		}
		return b.Delete([]byte(id))
	})
	return mapErr(err)
}

// The chunks of ForEachLead: a read transaction reads at most
// forEachChunk leads, or forEachBytes of their JSON (and one lead more).
const (
	forEachChunk = 1024
	forEachBytes = 4 << 20
)

// ForEachLead implements store.LeadStore in short read transactions, so
// that a walk of a million leads neither holds off the writers needing
// to grow the file (bbolt remaps it only once no read transaction is
// open) nor pins the pages they free: first the project's places and
// ids, forEachChunk keys a transaction (each resuming after the last key
// of the one before), sorted by place; then their JSON in that order, a
// chunk a transaction, copied out, and fn called for each once the
// transaction is closed (so fn may write to the store). A lead stored
// before the walk and neither deleted nor stored again during it is
// visited once, in its place; one written during the walk is visited
// with its latest JSON, or not at all (one deleted, or deleted and
// stored again, since its place was read).
func (s *Store) ForEachLead(ctx context.Context, project string, fn func(id string, raw []byte) error) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	type entry struct {
		seq uint64
		id  string
	}
	var all []entry
	var after []byte // the last key read
	for done := false; !done; {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.view(func(tx *bbolt.Tx) error {
			b := leadBucket(tx, project)
			if b == nil {
				done = true
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for n := 0; k != nil; k, v = c.Next() {
				if len(v) < seqBytes {
					return fmt.Errorf("%w: lead %s/%q: a value of %d bytes", errBadRecord, project, k, len(v))
				}
				all = append(all, entry{binary.BigEndian.Uint64(v), string(k)})
				if n++; n == forEachChunk {
					after = append(after[:0], k...)
					return nil
				}
			}
			done = true
			return nil
		})
		if err != nil {
			return mapErr(err)
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	type found struct {
		id         string
		start, end int
	}
	var buf []byte
	var got []found
	for i := 0; i < len(all); {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf, got = buf[:0], got[:0]
		err := s.view(func(tx *bbolt.Tx) error {
			b := leadBucket(tx, project)
			for n := 0; i < len(all) && n < forEachChunk && len(buf) < forEachBytes; i, n = i+1, n+1 {
				if b == nil {
					continue
				}
				e := all[i]
				v := b.Get([]byte(e.id))
				if len(v) < seqBytes || binary.BigEndian.Uint64(v) != e.seq {
					continue // deleted since (or deleted and stored again: a later place)
				}
				start := len(buf)
				buf = append(buf, v[seqBytes:]...)
				got = append(got, found{e.id, start, len(buf)})
			}
			return nil
		})
		if err != nil {
			return mapErr(err)
		}
		for _, g := range got {
			if err := fn(g.id, buf[g.start:g.end:g.end]); err != nil {
				return err
			}
		}
	}
	return nil
}

// leadBucket is project's bucket of leads (nil when it has none).
func leadBucket(tx *bbolt.Tx, project string) *bbolt.Bucket {
	root := tx.Bucket(bucketLeads)
	if root == nil {
		return nil
	}
	return root.Bucket([]byte(project))
}

// LeadProjects implements store.LeadStore.
func (s *Store) LeadProjects(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var out []string
	err := s.view(func(tx *bbolt.Tx) error {
		root := tx.Bucket(bucketLeads)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(name []byte) error {
			if k, _ := root.Bucket(name).Cursor().First(); k != nil {
				out = append(out, string(name))
			}
			return nil
		})
	})
	return out, mapErr(err)
}

// leadBegin is begin for lead calls, which also refuse to write into a
// store found damaged.
func (s *Store) leadBegin(ctx context.Context, project string) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	if b := s.broken.Load(); b != nil {
		return b
	}
	return nil
}
