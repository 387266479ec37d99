package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/segmatch/segmatch/internal/testkit/pgtest"
	"github.com/segmatch/segmatch/internal/testkit/syncbuf"
)

// natsStack is `segmatch serve --pg --nats` with one `segmatch worker`,
// over an embedded nats-server with JetStream and the PostgreSQL of
// .ci/pg (SEGMATCH_PG_DSN), for the tests of the lead routes past one
// machine.
type natsStack struct {
	s    *server
	ns   *natsserver.Server
	opts *natsserver.Options // ns's, to start it again on its store
	url  string              // ns's client URL
	werr *syncbuf.Buffer     // the worker's stderr
}

// startNATSStack starts the stack on a fresh schema; each of users is
// {email, project} with the agent role and the password 123456 (the
// seed's curl user, andrea.leo@f21.it, in project, always is one).
func startNATSStack(t *testing.T, schema, project string, users ...[2]string) *natsStack {
	t.Helper()
	dsn := pgtest.SchemaDSN(t, schema)
	st := &natsStack{opts: &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}}
	ns, err := natsserver.NewServer(st.opts)
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(20*time.Second))
	t.Cleanup(func() { ns.Shutdown() })
	st.ns, st.url = ns, ns.ClientURL()

	bin := builtBinary(t)
	file := filepath.Join(t.TempDir(), "users.json")
	for _, u := range append([][2]string{{"andrea.leo@f21.it", project}}, users...) {
		add := exec.Command(bin, "users", "add", "--users", file, "--email", u[0], "--project", u[1], "--role", "agent")
		add.Stdin = strings.NewReader("123456\n")
		out, err := add.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	st.s = startServer(t, bin, "--pg", dsn, "--nats", st.url, "--users", file)

	w := exec.Command(bin, "worker", "--nats", st.url, "--pg", dsn, "--ack-wait", "5s")
	st.werr = &syncbuf.Buffer{}
	w.Stderr = st.werr
	wout, err := w.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(func() { _ = w.Process.Kill(); _ = w.Wait() })
	ready := bufio.NewScanner(wout)
	require.True(t, ready.Scan(), "worker: %s", st.werr.String())
	require.Equal(t, "worker ready", ready.Text())
	return st
}
