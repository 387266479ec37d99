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
