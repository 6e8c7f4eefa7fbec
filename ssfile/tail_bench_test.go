package ssfile

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/internal/testkit"
)

// The tail benchmark runs this binary again as the writer process (see
// TestMain in crash_test.go).
const (
	tailWriterEnv = "SSFILE_TAIL_WRITER" // path of the .ss file, or "-" for the pipe baseline
	tailCountEnv  = "SSFILE_TAIL_COUNT"
	tailGap       = 200 * time.Microsecond // between messages: latency, not throughput
)

// tailWriter sends n messages carrying their send time: to the .ss file at
// path (write, then Flush: one write(2) each), or to stdout for the baseline.
func tailWriter(path string, n int) error {
	var stamp [8]byte
	var w *Writer
	if path != "-" {
		var err error
		if w, err = Append(path); err != nil {
			return err
		}
		defer w.Close()
	}
	for i := 0; i < n; i++ {
		time.Sleep(tailGap)
		binary.BigEndian.PutUint64(stamp[:], uint64(time.Now().UnixNano()))
		if w == nil {
			if _, err := os.Stdout.Write(stamp[:]); err != nil {
				return err
			}
			continue
		}
		if err := w.Write(format.MessageHeader{StreamKey: "tail", SeqNo: uint64(i)}, stamp[:]); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkTailLatency measures the time from a writer process's write to a
// following Reader in this process returning the message, with a pipe between
// the two processes as the baseline. Each b.N runs one writer process sending
// 2000 messages; the metrics are the percentiles over all of them.
func BenchmarkTailLatency(b *testing.B) {
	const perRun = 2000
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	writer := func(target string) *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), tailWriterEnv+"="+target, tailCountEnv+"="+strconv.Itoa(perRun))
		cmd.Stderr = os.Stderr
		return cmd
	}
	b.Run("file-follow", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			path := filepath.Join(b.TempDir(), "tail.ss")
			w, err := Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
			r, err := Open(path, WithMode(Live))
			if err != nil {
				b.Fatal(err)
			}
			cmd := writer(path)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < perRun; i++ {
				m, err := r.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(m.Payload))))
			}
			r.Close()
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		testkit.ReportPercentiles(b, lat)
	})
	b.Run("pipe-baseline", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			cmd := writer("-")
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			br := bufio.NewReader(out)
			var stamp [8]byte
			for i := 0; i < perRun; i++ {
				if _, err := io.ReadFull(br, stamp[:]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(stamp[:]))))
			}
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		testkit.ReportPercentiles(b, lat)
	})
}
