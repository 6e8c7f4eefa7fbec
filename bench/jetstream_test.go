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

func (t *jetStreamTarget) newSender(_ context.Context, window int) (durableSender, error) {
	if window == 1 {
		return &jetStreamSender{js: t.js}, nil
	}
	return &jetStreamAsyncSender{js: t.js, acks: newFIFO[jetstream.PubAckFuture](window)}, nil
}

// jetStreamSender publishes with js.Publish, which waits for the PubAck:
// one message in flight.
type jetStreamSender struct {
	js  jetstream.JetStream
	err error // of the last Publish, for await
}

func (s *jetStreamSender) send(ctx context.Context, p []byte) error {
	_, s.err = s.js.Publish(ctx, "bench", p)
	return nil
}

func (s *jetStreamSender) await(context.Context) error { return s.err }

// jetStreamAsyncSender publishes with js.PublishAsync and keeps the
// PubAckFutures of its messages in flight.
type jetStreamAsyncSender struct {
	js   jetstream.JetStream
	acks fifo[jetstream.PubAckFuture]
}

func (s *jetStreamAsyncSender) send(_ context.Context, p []byte) error {
	f, err := s.js.PublishAsync("bench", p)
	if err != nil {
		return err
	}
	s.acks.push(f)
	return nil
}

func (s *jetStreamAsyncSender) await(ctx context.Context) error {
	f := s.acks.pop()
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
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
