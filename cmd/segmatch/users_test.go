package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/httpapi/auth"
)

// TestUsersListRemove: add (password from a pipe), list and remove on the
// built binary, as an operator runs them.
func TestUsersListRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.json")
	add := func(pw string, args ...string) {
		t.Helper()
		out, errs, code := runBinary(t, pw, append([]string{"users", "add", "--users", path}, args...)...)
		require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", out, errs)
	}
	add("s3cret\n", "--email", "b@example.com", "--project", "p1", "--role", "agent")
	add("", "--email", "B@example.com", "--project", "p2", "--role", "owner") // the same user, another project
	add("pw2\n", "--email", "a@example.com", "--project", "p2", "--role", "guest", "--type", "bot")

	out, errs, code := runBinary(t, "", "users", "list", "--users", path)
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, "EMAIL          ROLE   PROJECT  TYPE\n"+
		"a@example.com  guest  p2       bot\n"+
		"b@example.com  agent  p1       user\n"+
		"b@example.com  owner  p2       user\n", out)
	assert.NotContains(t, out, "$2", "never a hash")
	assert.NotContains(t, out, "s3cret")

	out, _, code = runBinary(t, "", "users", "list", "--users", path, "--project", "p1")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "EMAIL          ROLE   PROJECT  TYPE\nb@example.com  agent  p1       user\n", out)
	out, errs, code = runBinary(t, "", "users", "list", "--users", path, "--project", "nope")
	assert.Equal(t, exitOK, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "no users in project nope")

	// Unknown users and projects are errors that say so, and change nothing.
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	_, errs, code = runBinary(t, "", "users", "remove", "--users", path, "--email", "c@example.com")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, path+" has no user c@example.com; nothing changed")
	_, errs, code = runBinary(t, "", "users", "remove", "--users", path, "--email", "a@example.com", "--project", "p1")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "user a@example.com has no role in project p1 (it has projects p2); nothing changed")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	_, errs, code = runBinary(t, "", "users", "remove", "--users", filepath.Join(dir, "missing.json"), "--email", "a@example.com")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "missing.json: no such file")
	_, _, code = runBinary(t, "", "users", "remove", "--users", path)
	assert.Equal(t, exitUsage, code, "--email is required")

	// One project's role, then a whole user (emails case-insensitively).
	out, errs, code = runBinary(t, "", "users", "remove", "--users", path, "--email", "B@EXAMPLE.COM", "--project", "p2")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "(b@example.com) from project p2")
	out, errs, code = runBinary(t, "", "users", "remove", "--users", path, "--email", "b@example.com", "--project", "p1")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "it has no project left")
	out, _, _ = runBinary(t, "", "users", "list", "--users", path)
	assert.Equal(t, "EMAIL          ROLE   PROJECT  TYPE\n"+
		"a@example.com  guest  p2       bot\n"+
		"b@example.com  -      -        user\n", out)
	out, errs, code = runBinary(t, "", "users", "remove", "--users", path, "--email", "b@example.com")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "removed user")
	entries, err := auth.ReadEntries(path)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "a@example.com", entries[0].Email)
	us, err := auth.LoadUsers(path)
	require.NoError(t, err, "the rewritten file loads")
	assert.Equal(t, 1, us.Len())

	// Rewritten atomically, owner-only, no temporary file left behind.
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	assert.Equal(t, []string{path}, names)

	_, errs, code = runBinary(t, "", "users", "list", "--users", filepath.Join(dir, "missing.json"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errs, "missing.json: no such file")
	_, errs, code = runBinary(t, "", "users", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "segmatch users list --users FILE")
}

// TestUsersAddEmail: --email is a plain address, refused with a clear
// error (exit 2) before anything is read or written.
func TestUsersAddEmail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	for _, tc := range []struct{ email, want string }{
		{"not-an-email", `--email "not-an-email" is not an email address (missing '@' or angle-addr); want a plain address such as name@example.com`},
		{"a@", `--email "a@" is not an email address`},
		{"Andrea Leo <andrea@example.com>", `--email "Andrea Leo <andrea@example.com>": want the plain address andrea@example.com, without a name`},
		{"<andrea@example.com>", "want the plain address andrea@example.com"},
		{" andrea@example.com", "want the plain address andrea@example.com"},
		{"a@b.it, c@d.it", `is not an email address`},
	} {
		_, errs, code := runBinary(t, "pw\n", "users", "add", "--users", path, "--email", tc.email, "--project", "p1")
		assert.Equal(t, exitUsage, code, tc.email)
		assert.True(t, strings.HasPrefix(errs, "segmatch users add: --email "), errs)
		assert.Contains(t, errs, tc.want, tc.email)
		assert.Equal(t, 1, strings.Count(errs, "\n"), "one line: %q", errs)
	}
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")
	_, errs, code := runBinary(t, "pw\n", "users", "add", "--users", path, "--email", "andrea.leo+crm@f21.example.it", "--project", "p1")
	assert.Equal(t, exitOK, code, errs)
}
