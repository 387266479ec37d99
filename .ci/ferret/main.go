// Command ferret runs an embedded FerretDB v1 (a MongoDB wire-protocol
// server over SQLite) for segmatch's Mongo tests: .ci/mongo builds it,
// starts it on 127.0.0.1 at a free port with its SQLite files in a temp
// dir, and exports SEGMATCH_MONGO_URI. It is a module of its own so that
// FerretDB never enters segmatch's go.mod.
//
//	ferret -dir DIR [-listen 127.0.0.1:0] [-uri-file FILE]
//
// It writes the mongodb:// URI it serves (with the port the kernel chose)
// to -uri-file (atomically, once listening) and to stdout, and runs until
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0: a free one)")
	dir := flag.String("dir", "", "directory for the SQLite databases (required)")
	uriFile := flag.String("uri-file", "", "file to write the mongodb:// URI to once listening")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferret: -dir is required")
		os.Exit(2)
	}
	if err := run(*listen, *dir, *uriFile); err != nil {
		fmt.Fprintln(os.Stderr, "ferret:", err)
		os.Exit(1)
	}
}

func run(listen, dir, uriFile string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	uri := f.MongoDBURI()
	if err := waitListening(uri, 10*time.Second); err != nil {
		return err
	}
	if uriFile != "" {
		tmp := uriFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(uri+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, uriFile); err != nil {
			return err
		}
	}
	fmt.Println(uri)
	return <-done
}

// waitListening dials the URI's host until it accepts a connection.
func waitListening(uri string, limit time.Duration) error {
	host := uri
	if i := len("mongodb://"); len(host) > i {
		host = host[i:]
	}
	for j := 0; j < len(host); j++ {
		if host[j] == '/' {
			host = host[:j]
			break
		}
	}
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not accepting connections: %w", host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
