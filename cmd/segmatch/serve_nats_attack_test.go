package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeNATSAttack: review attacks on serve --pg --nats (issue 17).
// Each subtest states the behaviour the in-process mode has and the
// relay should keep.
func TestServeNATSAttack(t *testing.T) {
	const project = "5b55e806c93dde00143163dd"
	st := startNATSStack(t, "serve_nats_attack", project, [2]string{"wild@f21.it", ">"})
	s, werr, ns, opts, natsURL := st.s, st.werr, st.ns, st.opts, st.url
	base := "/v3/" + project
	code, seg := s.call(t, "POST", base+"/segments", strings.NewReader(`{"name":"it","filters":[{"field":"country","operator":"=","value":"IT"}]}`))
	require.Equal(t, http.StatusOK, code, seg)
	// visible reports whether GET path answers 200 within d.
	visible := func(path string, d time.Duration) bool {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if code, _ := s.call(t, "GET", path, nil); code == http.StatusOK {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	require.Equal(t, http.StatusCreated, func() int {
		c, _ := s.call(t, "PUT", base+"/leads/warm", strings.NewReader(`{"country":"IT"}`))
		return c
	}())
	require.True(t, visible(base+"/leads/warm", 30*time.Second))

	t.Run("pretty-printed PUT is acknowledged and applied", func(t *testing.T) {
		code, out := s.call(t, "PUT", base+"/leads/pretty", strings.NewReader("{\n  \"country\": \"IT\",\n  \"n\": 1\n}"))
		require.Equal(t, http.StatusCreated, code, out)
		assert.True(t, visible(base+"/leads/pretty", 15*time.Second), "an acknowledged lead never applied\nworker: %s", werr.String())
	})

	t.Run("a lone surrogate lead does not make preview 500", func(t *testing.T) {
		code, out := s.call(t, "PUT", base+"/leads/sur", strings.NewReader(`{"country":"IT","note":"\ud800"}`))
		require.Equal(t, http.StatusCreated, code, out)
		require.True(t, visible(base+"/leads/sur", 15*time.Second))
		code, out = s.call(t, "POST", base+"/segments/preview", strings.NewReader(`{"filters":[{"field":"country","operator":"=","value":"IT"}]}`))
		assert.Equal(t, http.StatusOK, code, out)
	})

	t.Run("DELETE right after PUT deletes", func(t *testing.T) {
		code, out := s.call(t, "PUT", base+"/leads/quick", strings.NewReader(`{"country":"IT"}`))
		require.Equal(t, http.StatusCreated, code, out)
		code, out = s.call(t, "DELETE", base+"/leads/quick", nil)
		assert.Equal(t, http.StatusOK, code, out)
		// a lead written after the DELETE, once visible, says the worker
		// has applied both before it
		code, out = s.call(t, "PUT", base+"/leads/quick-after", strings.NewReader(`{"country":"IT"}`))
		require.Equal(t, http.StatusCreated, code, out)
		require.True(t, visible(base+"/leads/quick-after", 30*time.Second))
		code, _ = s.call(t, "GET", base+"/leads/quick", nil)
		assert.Equal(t, http.StatusNotFound, code, "the lead the client deleted is there")
	})

	// sse opens a stream as user on project; the status and a closer.
	sse := func(user, proj string) (int, *bufio.Reader, func()) {
		req, err := http.NewRequest("GET", "http://"+s.addr+"/v3/"+proj+"/segments/events", nil)
		require.NoError(t, err)
		req.SetBasicAuth(user, "123456")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return res.StatusCode, bufio.NewReader(res.Body), func() { res.Body.Close() }
	}
	t.Run("a project named > sees no other project's events", func(t *testing.T) {
		code, br, closeSSE := sse("wild@f21.it", ">")
		defer closeSSE()
		if code == http.StatusBadRequest {
			return // refused: it is not one NATS subject token
		}
		require.Equal(t, http.StatusOK, code)
		got := make(chan string, 1)
		go func() {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if strings.HasPrefix(line, "data: ") {
					got <- line
					return
				}
			}
		}()
		time.Sleep(300 * time.Millisecond)
		code, out := s.call(t, "PUT", base+"/leads/leak", strings.NewReader(`{"country":"IT"}`))
		require.Equal(t, http.StatusCreated, code, out)
		select {
		case line := <-got:
			t.Errorf("project \">\" received project %s's event: %s", project, line)
		case <-time.After(5 * time.Second):
		}
	})
	consumers := func() int {
		nc, err := nats.Connect(natsURL)
		require.NoError(t, err)
		defer nc.Close()
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		st, err := js.Stream(context.Background(), "SEGMATCH_EVENTS")
		require.NoError(t, err)
		info, err := st.Info(context.Background())
		require.NoError(t, err)
		return info.State.Consumers
	}
	t.Run("closed streams leave no consumers on the NATS server", func(t *testing.T) {
		before := consumers()
		for i := 0; i < 30; i++ {
			code, _, closeSSE := sse("andrea.leo@f21.it", project)
			require.Equal(t, http.StatusOK, code)
			closeSSE()
		}
		time.Sleep(2 * time.Second)
		after := consumers()
		t.Logf("events-stream consumers: %d before, %d after 30 streams opened and closed", before, after)
		assert.LessOrEqual(t, after, before+1, "ordered consumers outlive their streams")
	})
	t.Run("MaxStreams: the 65th is 429 and a closed slot is reusable", func(t *testing.T) {
		var closers []func()
		for i := 0; i < 64; i++ {
			code, _, c := sse("andrea.leo@f21.it", project)
			require.Equal(t, http.StatusOK, code, i)
			closers = append(closers, c)
		}
		code, _, c := sse("andrea.leo@f21.it", project)
		c()
		assert.Equal(t, http.StatusTooManyRequests, code)
		for _, c := range closers {
			c()
		}
		time.Sleep(500 * time.Millisecond)
		code, _, c = sse("andrea.leo@f21.it", project)
		c()
		assert.Equal(t, http.StatusOK, code)
	})

	t.Run("NATS down: a PUT answers promptly", func(t *testing.T) {
		port := ns.Addr().String()
		ns.Shutdown()
		ns.WaitForShutdown()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "PUT", "http://"+s.addr+base+"/leads/down", strings.NewReader(`{"country":"IT"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("andrea.leo@f21.it", "123456")
		res, err := http.DefaultClient.Do(req)
		took := time.Since(start)
		status := 0
		if err == nil {
			status = res.StatusCode
			res.Body.Close()
		}
		t.Logf("PUT with NATS down: status %d err %v after %v", status, err, took)
		assert.Less(t, took, 10*time.Second, "the request hung")
		start = time.Now()
		req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+s.addr+base+"/segments/events", nil)
		req.SetBasicAuth("andrea.leo@f21.it", "123456")
		ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel2()
		res, err = http.DefaultClient.Do(req.WithContext(ctx2))
		status2 := 0
		if err == nil {
			status2 = res.StatusCode
			res.Body.Close()
		}
		t.Logf("SSE with NATS down: status %d err %v after %v", status2, err, time.Since(start))
		// NATS back on the same port and store: was the refused write applied?
		_, p, _ := strings.Cut(port, ":")
		o2 := *opts
		o2.Port = atoiMust(t, p)
		ns2, err := natsserver.NewServer(&o2)
		require.NoError(t, err)
		go ns2.Start()
		require.True(t, ns2.ReadyForConnections(20*time.Second))
		t.Cleanup(ns2.Shutdown)
		applied := visible(base+"/leads/down", 20*time.Second)
		t.Logf("answered %d, then applied once NATS came back: %v", status, applied)
	})
}

func atoiMust(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int(c-'0')
	}
	return n
}
