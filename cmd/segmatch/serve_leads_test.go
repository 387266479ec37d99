package main

import (
	"bufio"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeLeads: leads written to `segmatch serve` and acknowledged
// survive SIGKILL (the restarted server rebuilds its index from the
// file); an event stream open at SIGTERM does not hold the shutdown.
func TestServeLeads(t *testing.T) {
	bin := builtBinary(t)
	dir := t.TempDir()
	const project = "5b55e806c93dde00143163dd"
	users := filepath.Join(dir, "users.json")
	add := exec.Command(bin, "users", "add", "--users", users, "--email", "andrea.leo@f21.it", "--project", project, "--role", "agent")
	add.Stdin = strings.NewReader("123456\n")
	outb, err := add.CombinedOutput()
	require.NoError(t, err, string(outb))
	args := []string{"--data", filepath.Join(dir, "segmatch.db"), "--users", users, "--shutdown-timeout", "20s"}

	s := startServer(t, bin, args...)
	base := "/v3/" + project
	code, seg := s.call(t, "POST", base+"/segments", strings.NewReader(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`))
	require.Equal(t, http.StatusOK, code, seg)
	id := seg["_id"].(string)
	stream := func(s *server) (*bufio.Scanner, func()) {
		req, _ := http.NewRequest("GET", "http://"+s.addr+base+"/segments/events", nil)
		req.SetBasicAuth("andrea.leo@f21.it", "123456")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		return bufio.NewScanner(res.Body), func() { res.Body.Close() }
	}
	sc, closeStream := stream(s)
	for i, c := range []string{"IT", "FR", "IT"} {
		code, out := s.call(t, "PUT", base+"/leads/l"+string(rune('0'+i)), strings.NewReader(`{"country":"`+c+`"}`))
		require.Equal(t, http.StatusCreated, code, out)
	}
	var got []string
	for sc.Scan() && len(got) < 2 {
		if strings.HasPrefix(sc.Text(), "data: ") {
			got = append(got, sc.Text())
		}
	}
	closeStream()
	assert.Equal(t, []string{`data: {"lead":"l0","segment":"` + id + `","entered":true}`, `data: {"lead":"l2","segment":"` + id + `","entered":true}`}, got)
	code, out := s.call(t, "POST", base+"/leads/bulk", strings.NewReader("{\"_id\":\"l3\",\"country\":\"IT\"}\n{\"_id\":\"l4\",\"country\":\"DE\"}\n"))
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 2, out["accepted"])

	// SIGKILL: every acknowledged write is in the file.
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	s = startServer(t, bin, args...)
	code, out = s.call(t, "GET", base+"/segments/"+id+"/count", nil)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 3, out["count"])
	code, out = s.call(t, "GET", base+"/segments/"+id+"/leads?limit=2&page=1", nil)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 3, out["count"])
	require.Len(t, out["leads"], 1)
	assert.Equal(t, "l3", out["leads"].([]any)[0].(map[string]any)["_id"])

	// SIGTERM with a stream open: the server stops, the stream ends.
	sc, closeStream = stream(s)
	defer closeStream()
	ended := make(chan struct{})
	go func() {
		for sc.Scan() {
		}
		close(ended)
	}()
	start := time.Now()
	s.stop(t)
	assert.Less(t, time.Since(start), 10*time.Second)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end at shutdown")
	}
	assert.Contains(t, s.logs(), "leads ready")
}
