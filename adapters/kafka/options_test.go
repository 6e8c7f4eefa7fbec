package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/seastream/ss/adapters/kafka"
	"github.com/seastream/ss/internal/testkit"
	"github.com/seastream/ss/streamer"
)

func TestURIOptionErrors(t *testing.T) {
	ctx := testkit.Context(t)
	base := "kafka://" + newBrokers(t, 1)
	for _, tc := range []struct {
		query string
		want  error
		name  string
	}{
		{"?nope=1", streamer.ErrUnknownOption, "nope"},
		{"?compression=brotli", streamer.ErrInvalidOption, "compression"},
		{"?timeout=soon", streamer.ErrInvalidOption, "timeout"},
		{"?partitions=-1", streamer.ErrInvalidOption, "partitions"},
		{"?replication=0", streamer.ErrInvalidOption, "replication"},
		{"?sasl_mechanism=plain", streamer.ErrInvalidOption, "sasl_mechanism"},
		{"?sasl_mechanism=kerberos&sasl_user=u", streamer.ErrInvalidOption, "sasl_mechanism"},
		{"?sasl_user=u", streamer.ErrInvalidOption, "sasl_user"},
		{"?tls=false&tls_skip_verify=true", streamer.ErrInvalidOption, "tls"},
		{"?tls_ca=/no/such/file.pem", streamer.ErrInvalidOption, "tls_ca"},
		{"?balancer=fair", streamer.ErrInvalidOption, "balancer"},
		{"?balancer=range,range", streamer.ErrInvalidOption, "balancer"},
		{"?balancer=", streamer.ErrInvalidOption, "balancer"},
	} {
		_, err := streamer.Open(ctx, base+tc.query)
		var oe *streamer.OptionError
		if !errors.Is(err, tc.want) || !errors.As(err, &oe) || oe.Name != tc.name {
			t.Errorf("Open(%s) = %v, want %v naming %q", tc.query, err, tc.want, tc.name)
		}
	}
	// Accepted options.
	s := open(t, base+"?timeout=5s&client_id=ss-test&compression=lz4&linger=2ms&partitions=2&replication=1&session_timeout=10s&auto_commit=1s&balancer=Range,%20roundrobin")
	if s.Scheme() != "kafka" {
		t.Fatal(s.Scheme())
	}
}

func TestGoOptionScopes(t *testing.T) {
	ctx := testkit.Context(t)
	uri := "kafka://" + newBrokers(t, 1)
	s := open(t, uri)
	k := []streamer.StreamKey{topic(t, "scope")}
	if _, err := s.NewProducer(ctx, k[0], kafka.WithTopicCreation(0, 0)); !errors.Is(err, streamer.ErrInvalidOption) {
		t.Errorf("WithTopicCreation(0, 0) = %v, want ErrInvalidOption", err)
	}
	if _, err := s.NewConsumer(ctx, k, streamer.WithDriverOption(struct{ other int }{})); !errors.Is(err, streamer.ErrUnknownOption) {
		t.Errorf("a foreign driver option = %v, want ErrUnknownOption", err)
	}
	if _, err := streamer.Open(ctx, uri, streamer.WithDriverOption(42)); !errors.Is(err, streamer.ErrUnknownOption) {
		t.Errorf("Open with a foreign driver option = %v, want ErrUnknownOption", err)
	}
	if _, err := s.NewProducer(ctx, k[0], streamer.WithVerbatimHeaders()); !errors.Is(err, streamer.ErrUnsupported) {
		t.Errorf("verbatim producer = %v, want ErrUnsupported", err)
	}
	if _, err := s.NewConsumer(ctx, []streamer.StreamKey{streamer.Wildcard}); !errors.Is(err, streamer.ErrUnsupported) {
		t.Errorf("wildcard from the latest = %v, want ErrUnsupported", err)
	}
	if _, err := s.NewConsumer(ctx, k, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup("g"),
		streamer.WithAutoStreamReset(streamer.ResetEarliest), streamer.WithReplay()); !errors.Is(err, streamer.ErrUnsupported) {
		t.Errorf("LoadBalanced replay = %v, want ErrUnsupported", err)
	}
	lb, err := s.NewConsumer(ctx, k, streamer.WithMode(streamer.LoadBalanced), streamer.WithGroup(string(topic(t, "g"))),
		kafka.WithSessionTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Assign(k[0], 0); !errors.Is(err, streamer.ErrUnsupported) {
		t.Errorf("Assign on a LoadBalanced consumer = %v, want ErrUnsupported", err)
	}
}

func TestConnectError(t *testing.T) {
	ctx := testkit.Context(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	start := time.Now()
	_, err = streamer.Open(ctx, "kafka://"+addr+"/x?timeout=1s")
	var ce *streamer.ConnectError
	if !errors.Is(err, streamer.ErrConnect) || !errors.As(err, &ce) || ce.Backend != "kafka" {
		t.Fatalf("Open on a closed port = %v, want a *ConnectError", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Open took %v with timeout=1s", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := streamer.Open(cctx, "kafka://"+addr); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled ctx = %v", err)
	}
}

func TestSASL(t *testing.T) {
	if realBroker() {
		t.Skip("the real test broker has no SASL listener; this runs on kfake")
	}
	ctx := testkit.Context(t)
	brokers := newBrokers(t, 1, kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plainpass"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "pass256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "pass512"))
	roundTrip := func(t *testing.T, uri string, opts ...streamer.Option) {
		s := open(t, uri, opts...)
		k := topic(t, "sasl")
		c, err := s.NewConsumer(ctx, []streamer.StreamKey{k}, streamer.WithAutoStreamReset(streamer.ResetEarliest))
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.NewProducer(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		send(t, ctx, p, k, "authenticated")
		if m := next(t, ctx, c); string(m.Payload) != "authenticated" {
			t.Fatalf("got %q", m.Payload)
		}
	}
	t.Run("plain", func(t *testing.T) {
		roundTrip(t, "kafka://"+brokers+"?sasl_mechanism=plain&sasl_user=plainuser&sasl_password=plainpass")
	})
	t.Run("scram-sha-256", func(t *testing.T) {
		roundTrip(t, "kafka://"+brokers+"?sasl_mechanism=SCRAM-SHA-256&sasl_user=scram256&sasl_password=pass256")
	})
	t.Run("scram-sha-512", func(t *testing.T) {
		roundTrip(t, "kafka://"+brokers+"?sasl_mechanism=scram-sha-512&sasl_user=scram512&sasl_password=pass512")
	})
	t.Run("WithSASL", func(t *testing.T) {
		roundTrip(t, "kafka://"+brokers, kafka.WithSASL(plain.Auth{User: "plainuser", Pass: "plainpass"}.AsMechanism()))
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := streamer.Open(ctx, "kafka://"+brokers+"?timeout=2s&sasl_mechanism=plain&sasl_user=plainuser&sasl_password=wrong")
		if !errors.Is(err, streamer.ErrConnect) {
			t.Fatalf("Open with a wrong password = %v, want ErrConnect", err)
		}
	})
}

// selfSigned returns a server certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ss-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTLS(t *testing.T) {
	if realBroker() {
		t.Skip("the real test broker has no TLS listener; this runs on kfake")
	}
	ctx := testkit.Context(t)
	cert, caPEM := selfSigned(t)
	brokers := newBrokers(t, 1, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// Trusting the CA by URI option, and by Go option.
	open(t, "kafka://"+brokers+"?tls_ca="+caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	s := open(t, "kafka://"+brokers, kafka.WithTLS(&tls.Config{RootCAs: pool}))
	k := topic(t, "tls")
	p, err := s.NewProducer(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, p, k, "over TLS")
	// Not trusting it fails to connect.
	if _, err := streamer.Open(ctx, "kafka://"+brokers+"?tls=true&timeout=2s"); !errors.Is(err, streamer.ErrConnect) {
		t.Fatalf("TLS with an untrusted certificate = %v, want ErrConnect", err)
	}
}
