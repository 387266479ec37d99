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

// ForEachLead implements store.LeadStore, in one read transaction: the
// project's keys are read in key order, sorted by place, then handed to
// fn straight from the map.
func (s *Store) ForEachLead(ctx context.Context, project string, fn func(id string, raw []byte) error) error {
	if err := s.begin(ctx, project); err != nil {
		return err
	}
	err := s.view(func(tx *bbolt.Tx) error {
		root := tx.Bucket(bucketLeads)
		if root == nil {
			return nil
		}
		b := root.Bucket([]byte(project))
		if b == nil {
			return nil
		}
		type entry struct {
			seq uint64
			k   []byte
			v   []byte
		}
		var all []entry
		err := b.ForEach(func(k, v []byte) error {
			if len(v) < seqBytes {
				return fmt.Errorf("%w: lead %s/%q: a value of %d bytes", errBadRecord, project, k, len(v))
			}
			all = append(all, entry{binary.BigEndian.Uint64(v), k, v[seqBytes:]})
			return nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
		for i, e := range all {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(string(e.k), e.v); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err)
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
