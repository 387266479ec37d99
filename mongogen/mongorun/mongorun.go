// Package mongorun runs mongogen's pushdown on a MongoDB collection:
// the segment's filter selects the candidates on the server, and every
// candidate is rechecked in Go with the segment's Program
// (segmatch.Program.MatchJSON on mongogen.ContactJSON of the document),
// so the members are exactly those the engine would select.
//
//	members, stats, err := mongorun.Members(ctx, coll, seg, mongogen.WithNow(now))
//
// It is the only package of segmatch that uses the MongoDB driver.
package mongorun

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/segmatch/segmatch/filter"
	"github.com/segmatch/segmatch/mongogen"
)

// Member is one document of the segment.
type Member struct {
	ID      bson.RawValue // the document's _id
	Contact []byte        // the document as the recheck read it (mongogen.ContactJSON)
}

// Stats counts what the server returned and what the recheck kept.
type Stats struct {
	Candidates int // documents the filter returned
	Members    int // of those, members
}

// Members compiles seg (mongogen.Compile: an invalid segment is its
// error) and returns its members in coll, in the server's order.
func Members(ctx context.Context, coll *mongo.Collection, seg filter.Segment, opts ...mongogen.Option) ([]Member, Stats, error) {
	q, err := mongogen.Compile(seg, opts...)
	if err != nil {
		return nil, Stats{}, err
	}
	var out []Member
	st, err := Each(ctx, coll, q, func(doc bson.Raw, contact []byte) error {
		out = append(out, Member{ID: doc.Lookup("_id"), Contact: contact})
		return nil
	})
	return out, st, err
}

// Each runs q's filter on coll and calls fn for every member (after the
// recheck); an error from fn stops it and is returned.
func Each(ctx context.Context, coll *mongo.Collection, q *mongogen.Query, fn func(doc bson.Raw, contact []byte) error) (Stats, error) {
	var st Stats
	cur, err := coll.Find(ctx, q.Filter)
	if err != nil {
		return st, fmt.Errorf("mongorun: find: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		st.Candidates++
		contact, err := mongogen.ContactJSON(cur.Current)
		if err != nil {
			return st, fmt.Errorf("mongorun: document %d: %w", st.Candidates, err)
		}
		ok, err := q.Recheck(contact)
		if err != nil {
			return st, fmt.Errorf("mongorun: document %d: %w", st.Candidates, err)
		}
		if !ok {
			continue
		}
		st.Members++
		if err := fn(cur.Current, contact); err != nil {
			return st, err
		}
	}
	if err := cur.Err(); err != nil {
		return st, fmt.Errorf("mongorun: %w", err)
	}
	return st, nil
}

// Candidates returns the _id of every document q's filter selects
// (before the recheck), for a caller that reads the documents anyway.
func Candidates(ctx context.Context, coll *mongo.Collection, q *mongogen.Query) (map[string]bool, error) {
	cur, err := coll.Find(ctx, q.Filter, optsIDOnly())
	if err != nil {
		return nil, fmt.Errorf("mongorun: find: %w", err)
	}
	defer cur.Close(ctx)
	ids := map[string]bool{}
	for cur.Next(ctx) {
		ids[IDKey(cur.Current.Lookup("_id"))] = true
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongorun: %w", err)
	}
	return ids, nil
}

// IDKey is a map key for an _id value (its type and bytes).
func IDKey(v bson.RawValue) string { return string(rune(v.Type)) + string(v.Value) }

func optsIDOnly() *options.FindOptionsBuilder {
	return options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}})
}
