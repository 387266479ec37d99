//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// openPTY opens a pseudo-terminal: the master (what a terminal emulator
// holds) and the slave (the process's stdin).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var n uint32
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		m.Close()
		t.Skipf("TIOCGPTN: %v", err)
	}
	var unlock int32
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		m.Close()
		t.Skipf("TIOCSPTLCK: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("opening the slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// echoOff reports whether the terminal has stopped echoing.
func echoOff(t *testing.T, f *os.File) bool {
	var tio syscall.Termios
	require.NoError(t, ioctl(f, syscall.TCGETS, unsafe.Pointer(&tio)))
	return tio.Lflag&syscall.ECHO == 0
}

// ptySession runs the built binary with stdin on a pseudo-terminal and
// stderr on a pipe, answering each prompt (read on stderr) with its
// answer once the terminal's echo is off. It returns stdout, stderr,
// what the terminal showed (its echo) and the exit code.
func ptySession(t *testing.T, answers []string, args ...string) (stdout, stderr, shown string, code int) {
	t.Helper()
	master, slave := openPTY(t)
	cmd := exec.Command(builtBinary(t), args...)
	cmd.Stdin = slave
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var echo bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the terminal's output: anything echoed
		defer wg.Done()
		_, _ = io.Copy(&echo, master) // ends with EIO once the slave is closed
	}()
	var errb bytes.Buffer
	r := bufio.NewReader(errPipe)
	for _, a := range answers {
		// a prompt ends in ": " without a newline
		for !strings.HasSuffix(errb.String(), ": ") {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("waiting for a prompt: %v; stderr so far: %q", err, errb.String())
			}
			errb.WriteByte(b)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !echoOff(t, slave) {
			if time.Now().After(deadline) {
				t.Fatalf("the terminal still echoes at the prompt %q", errb.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, err := master.Write([]byte(a + "\r")) // Enter, as a terminal sends it
		require.NoError(t, err)
		// the newline after the prompt, before the next one
		b, err := r.ReadByte()
		require.NoError(t, err)
		errb.WriteByte(b)
	}
	rest, _ := io.ReadAll(r)
	errb.Write(rest)
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	assert.False(t, echoOff(t, slave), "the terminal echoes again after the command")
	slave.Close()
	master.Close()
	wg.Wait()
	return out.String(), errb.String(), echo.String(), code
}

// TestUsersAddTerminal: on a terminal the password is asked for without
// echo, twice for a new one; an existing user may keep theirs with Enter.
func TestUsersAddTerminal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	out, errs, shown, code := ptySession(t, []string{"s3cret-pw", "s3cret-pw"},
		"users", "add", "--users", path, "--email", "a@example.com", "--project", "p1")
	require.Equal(t, exitOK, code, "stderr: %s", errs)
	assert.Contains(t, out, "added user")
	assert.Equal(t, "Password for a@example.com: \nAgain: \n", errs)
	assert.NotContains(t, shown, "s3cret", "the password is not echoed")
	entries, err := auth.ReadEntries(path)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(entries[0].PasswordHash), []byte("s3cret-pw")))

	// An existing user: Enter keeps the password, the role changes.
	_, errs, _, code = ptySession(t, []string{""},
		"users", "add", "--users", path, "--email", "a@example.com", "--project", "p2", "--role", "owner")
	require.Equal(t, exitOK, code, "stderr: %s", errs)
	assert.Contains(t, errs, "New password for a@example.com (Enter keeps the current one): ")
	after, err := auth.ReadEntries(path)
	require.NoError(t, err)
	assert.Equal(t, entries[0].PasswordHash, after[0].PasswordHash)
	assert.Equal(t, map[string]string{"p1": "agent", "p2": "owner"}, after[0].Roles)

	// Two different answers change nothing.
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, errs, shown, code = ptySession(t, []string{"one-pw", "other-pw"},
		"users", "add", "--users", path, "--email", "b@example.com", "--project", "p1")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "segmatch users add: the two passwords differ; nothing changed")
	assert.NotContains(t, shown, "-pw")
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, now)

	// A new user with an empty answer: refused.
	_, errs, _, code = ptySession(t, []string{""},
		"users", "add", "--users", path, "--email", "c@example.com", "--project", "p1")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "a new user needs a password")
}
