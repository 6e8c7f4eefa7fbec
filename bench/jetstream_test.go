package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jetStreamTarget is an embedded NATS JetStream server (nats-server as a
// library, in this process) with file storage in a directory of the
// benchmark, and one client connection shared by the producers, as the
// producers of file:// share one Streamer. The client connects in process
// (nats.InProcessServer), as file:// has no network either: over TCP on
// loopback JetStream took 1.1-2.3× the time here.
type jetStreamTarget struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

// openJetStreamTarget starts the server with JetStream storing in dir and
// creates the stream "bench" (file storage, one replica, limits retention).
// syncAlways sets the server option SyncAlways: every write is synced before
// its PubAck. Without it the server syncs every 2 minutes (its default
// sync_interval).
func openJetStreamTarget(dir string, syncAlways bool) (durableTarget, error) {
	opts := &server.Options{
		DontListen: true,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: syncAlways,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("jetstream: new server: %w", err)
	}
	srv.Start()
	t := &jetStreamTarget{srv: srv}
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, errors.Join(errors.New("jetstream: the server is not ready after 10s"), t.Close())
	}
	if t.nc, err = nats.Connect("", nats.InProcessServer(srv)); err != nil {
		return nil, errors.Join(fmt.Errorf("jetstream: connect: %w", err), t.Close())
	}
	if t.js, err = jetstream.New(t.nc); err != nil {
		return nil, errors.Join(fmt.Errorf("jetstream: %w", err), t.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = t.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "bench",
		Subjects: []string{"bench"},
		Storage:  jetstream.FileStorage,
		Replicas: 1,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("jetstream: create the stream: %w", err), t.Close())
	}
	return t, nil
}

func (t *jetStreamTarget) newSender(context.Context) (func(context.Context, []byte) error, error) {
	return func(ctx context.Context, p []byte) error {
		_, err := t.js.Publish(ctx, "bench", p)
		return err
	}, nil
}

func (t *jetStreamTarget) started() {}

func (t *jetStreamTarget) report(*testing.B) {}

func (t *jetStreamTarget) Close() error {
	if t.nc != nil {
		t.nc.Close()
	}
	t.srv.Shutdown()
	t.srv.WaitForShutdown()
	return nil
}
