package bolt

import "os"

// CheckFile runs the checks Open makes before bbolt maps the file.
func CheckFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return checkFile(f, path)
}

// Scans reports how many times s has read all of a project's records to
// count its usage (projectUsage), and Compiles how many records it has
// compiled to learn their size.
func Scans(s *Store) int64    { return s.scans.Load() }
func Compiles(s *Store) int64 { return s.compiles.Load() }

// CachedBytes reports what s's decoded-record cache is charged.
func CachedBytes(s *Store) int64 { return s.cache.bytes() }

// ForEachChunk is how many leads a read transaction of ForEachLead reads.
const ForEachChunk = forEachChunk
