package audience

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Upsert adds a contact, or replaces the one with its id, and returns the
// events it caused: the registered segments it entered or left, in
// segment order. A contact that is not one JSON object, has no id or is
// too large is a *ContactError and changes nothing.
func (ix *Index) Upsert(raw []byte) ([]Event, error) {
	events, err := ix.upsert(raw, 0, nil)
	if err != nil {
		return nil, err
	}
	ix.deliver(events)
	return events, nil
}

func (ix *Index) upsert(raw []byte, line int, events []Event) ([]Event, error) {
	if len(raw) > ix.opts.MaxContactBytes {
		return events, &ContactError{Line: line, Err: ErrTooLarge}
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	reg := ix.reg
	// One validating pass: the engine's when segments are registered.
	var err error
	if reg.eng != nil {
		err = reg.eng.ClassifyJSONInto(raw, reg.res) // the engine's clock is ix.opts.Now (SetSegments): read only when a segment needs it
	} else {
		err = validObject(raw)
	}
	if err != nil {
		return events, &ContactError{Line: line, Err: err}
	}
	id, own := ix.idView(raw)
	if id == "" {
		var err error
		if id, err = ix.idOf(raw); err != nil {
			return events, &ContactError{Line: line, Err: err}
		}
		own = true
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, existed := ix.byID[id]
	var old []byte
	switch {
	case !existed:
		n = uint32(len(ix.ids))
		if was, ok := ix.num.gone[id]; ok { // removed, and back: a new number, the old one remembered
			id = ix.ids[was]
			ix.num.prev[n] = was
			delete(ix.num.gone, id)
		} else if !own {
			id = strings.Clone(id) // a view of the caller's buffer
		}
		ix.ids = append(ix.ids, id)
		ix.raws = append(ix.raws, nil)
		ix.byID[id] = n
		ix.live.Add(n)
		if ix.fields.kept > 0 {
			ix.fields.changed(n, nil, len(ix.byID), ix.bytes)
		}
		raw = bytes.Clone(raw) // kept: the caller may reuse its buffer
	case bytes.Equal(ix.raws[n], raw):
		raw = ix.raws[n] // the same content: nothing for the field index
		old = raw
	default:
		old = ix.raws[n]
		if ix.fields.kept > 0 {
			ix.fields.changed(n, old, len(ix.byID), ix.bytes)
		}
		raw = bytes.Clone(raw)
	}
	ix.bytes += len(raw) - len(old)
	ix.raws[n] = raw
	if reg.eng == nil {
		return events, nil
	}
	return reg.apply(n, ix.ids[n], events, len(ix.byID)), nil
}

// idView is a contact's id when the first member of raw (one valid JSON
// object) is the first id field holding a non-empty string without
// escapes, which is what idOf reads then; own is false: it is a view of
// raw. "" otherwise: idOf decides.
func (ix *Index) idView(raw []byte) (id string, own bool) {
	key := ix.opts.IDFields[0]
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return "", false
	}
	i = skipSpace(raw, i+1)
	if i+len(key)+2 > len(raw) || raw[i] != '"' || string(raw[i+1:i+1+len(key)]) != key || raw[i+1+len(key)] != '"' {
		return "", false
	}
	i = skipSpace(raw, i+len(key)+2)
	if i >= len(raw) || raw[i] != ':' {
		return "", false
	}
	i = skipSpace(raw, i+1)
	if i >= len(raw) || raw[i] != '"' {
		return "", false
	}
	str := raw[i+1:]
	j := bytes.IndexByte(str, '"')
	if j <= 0 || bytes.IndexByte(str[:j], '\\') >= 0 {
		return "", false
	}
	return rawString(str[:j]), false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// Remove removes a contact: it leaves every segment it was in (the
// events). An unknown id is ErrNotFound.
func (ix *Index) Remove(id string) ([]Event, error) {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	n, ok := ix.byID[id]
	if !ok {
		ix.mu.Unlock()
		return nil, fmt.Errorf("audience: contact %q: %w", id, ErrNotFound)
	}
	events := ix.reg.leave(n, id, nil, len(ix.byID)-1)
	ix.fields.changed(n, ix.raws[n], len(ix.byID)-1, ix.bytes)
	ix.bytes -= len(ix.raws[n])
	ix.raws[n] = nil
	ix.live.Remove(n)
	delete(ix.byID, id)
	ix.num.gone[ix.ids[n]] = n
	ix.maybeRenumber()
	ix.mu.Unlock()
	ix.deliver(events)
	return events, nil
}

// MaxLineBytes bounds one line of a JSON Lines stream (a contact and its
// newline).
const MaxLineBytes = DefaultMaxContactBytes + 1

// UpsertStream upserts the contacts of a JSON Lines stream (blank lines
// skipped), in order, delivering each line's events (Options.OnEvents) as
// it goes. It stops at the first bad line, with a *ContactError naming the
// line: the lines before it are applied, it and the ones after are not.
// n is the number of contacts applied.
func (ix *Index) UpsertStream(r io.Reader) (n int, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	max := ix.opts.MaxContactBytes + 1
	var line []byte
	for ln := 1; ; ln++ {
		line = line[:0]
		tooLong := false
		for {
			chunk, err := br.ReadSlice('\n')
			if !tooLong {
				if len(line)+len(chunk) > max {
					tooLong = true
				} else {
					line = append(line, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err == io.EOF {
				if len(line) == 0 && !tooLong {
					return n, nil
				}
				break
			}
			if err != nil {
				return n, err
			}
			break
		}
		if tooLong {
			return n, &ContactError{Line: ln, Err: ErrTooLarge}
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		events, err := ix.upsert(line, ln, nil)
		if err != nil {
			return n, err
		}
		ix.deliver(events)
		n++
	}
}

// Refresh re-evaluates the registered segments whose answer changes with
// time alone (relative dates: within_last, ...) at the clock reading now,
// and returns the events: who entered or left them as time passed. Other
// segments are not touched.
func (ix *Index) Refresh(now time.Time) ([]Event, error) {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	reg := ix.reg
	var which []int
	for i, p := range reg.progs {
		if p.ReadsNow() {
			which = append(which, i)
		}
	}
	if len(which) == 0 {
		return nil, nil
	}
	ix.scanAt = now // the clock of reg.progs (scanClock)
	ix.mu.RLock()
	reg.catchUp() // the members are compared below, then replaced
	next := make([]*roaring.Bitmap, len(which))
	for k, i := range which {
		bm, err := ix.fields.query(ix, reg.segment(i), reg.progs[i])
		if err != nil {
			ix.mu.RUnlock()
			return nil, err
		}
		next[k] = bm
	}
	var events []Event
	for k, i := range which {
		events = ix.diff(events, reg.keys[i], reg.members[i], next[k])
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	for k, i := range which {
		reg.members[i] = next[k]
	}
	reg.pack(which)
	ix.mu.Unlock()
	ix.deliver(events)
	return events, nil
}
