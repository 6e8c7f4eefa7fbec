package toolstest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seastream/ss/format"
	"github.com/seastream/ss/ssfile"

	// The tools are built from these: importing them makes go test's cache
	// see their changes (not those of cmd/*/main.go: use -count=1).
	_ "github.com/seastream/ss/internal/sscheck"
	_ "github.com/seastream/ss/internal/ssdecode"
)

var update = flag.Bool("update", false, "rewrite the fixtures and golden files")

// bin holds the built tools.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "toolstest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	for _, tool := range []string{"ss-decode", "ss-verify", "ss-repair"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, tool), "github.com/seastream/ss/cmd/"+tool)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", tool, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type run struct {
	stdout, stderr string
	code           int
}

func tool(t *testing.T, name string, args ...string) run {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), "panic") || strings.Contains(errb.String(), "goroutine ") {
		t.Fatalf("%s %v panicked:\n%s", name, args, errb.String())
	}
	return run{out.String(), errb.String(), code}
}

func testdata(name string) string { return filepath.Join("testdata", name) }

func vector(name string) string { return filepath.Join("..", "..", "testdata", name) }

// TestFixtures checks that the committed fixtures are what the generators
// make, and are sound (but for the torn one).
func TestFixtures(t *testing.T) {
	for name, want := range fixtures(t) {
		if *update {
			if err := os.WriteFile(testdata(name), want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(testdata(name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator; run go test -update", name)
		}
		r := tool(t, "ss-verify", "--file", testdata(name))
		if wantCode := map[bool]int{true: 1, false: 0}[name == "torn.ss"]; r.code != wantCode {
			t.Errorf("ss-verify %s: exit %d\n%s", name, r.code, r.stdout)
		}
	}
}

type decodeCase struct {
	file string
	args []string
}

func (c decodeCase) golden() string {
	name := filepath.Base(c.file)
	for _, a := range c.args {
		name += "." + strings.TrimLeft(a, "-")
	}
	return filepath.Join("testdata", "golden", name+".txt")
}

func decodeCases() []decodeCase {
	var out []decodeCase
	for _, f := range []string{vector("consumer.ss"), vector("sample-1.ss"), testdata("mixed.ss"), testdata("tiny.ss"), testdata("binary.ss"), testdata("torn.ss")} {
		for _, format := range []string{"log", "ndjson"} {
			out = append(out, decodeCase{f, []string{"--format", format}})
			out = append(out, decodeCase{f, []string{"--format", format, "--header-only"}})
		}
	}
	return out
}

// TestDecodeGolden compares ss-decode's output with golden files. The
// golden files were checked against SeaStreamer's own ss-decode (see
// TestDecodeMatchesReference).
func TestDecodeGolden(t *testing.T) {
	for _, c := range decodeCases() {
		r := tool(t, "ss-decode", append([]string{"--file", c.file}, c.args...)...)
		if r.code != 0 {
			t.Fatalf("%s %v: exit %d: %s", c.file, c.args, r.code, r.stderr)
		}
		torn := strings.HasSuffix(c.file, "torn.ss")
		if torn != strings.Contains(r.stderr, "warning") {
			t.Errorf("%s: stderr %q", c.file, r.stderr)
		}
		if *update {
			if err := os.MkdirAll(filepath.Dir(c.golden()), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.golden(), []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(c.golden())
		if err != nil {
			t.Fatal(err)
		}
		if r.stdout != string(want) {
			t.Errorf("%s %v: output differs from %s:\n%s", c.file, c.args, c.golden(), firstDiff(string(want), r.stdout))
		}
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, w, g)
		}
	}
	return "(same lines)"
}

// TestDecodeMatchesReference runs SeaStreamer's own ss-decode, when
// SS_REFERENCE_DECODE names it, on every case and compares the outputs byte
// for byte. To build it: cargo install sea-streamer-file --features
// executables --root DIR; then SS_REFERENCE_DECODE=DIR/bin/ss-decode.
func TestDecodeMatchesReference(t *testing.T) {
	ref := os.Getenv("SS_REFERENCE_DECODE")
	if ref == "" {
		t.Skip("set SS_REFERENCE_DECODE to SeaStreamer's ss-decode to compare with it")
	}
	for _, c := range decodeCases() {
		cmd := exec.Command(ref, append([]string{"--file", c.file}, c.args...)...)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("reference on %s: %v", c.file, err)
		}
		r := tool(t, "ss-decode", append([]string{"--file", c.file}, c.args...)...)
		if r.stdout != string(want) {
			t.Errorf("%s %v: differs from SeaStreamer's ss-decode:\n%s", c.file, c.args, firstDiff(string(want), r.stdout))
		}
	}
}

// bigFile writes a file of n messages over three streams with ssfile.
func bigFile(t *testing.T, n int, iv uint32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(iv), ssfile.WithCreatedAt(time.UnixMilli(baseTime)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		key := []string{"alpha", "beta", "gamma"}[i%3]
		h := format.MessageHeader{StreamKey: key, ShardID: uint64(i % 2), SeqNo: uint64(i), Timestamp: baseTime + uint64(i)}
		if err := w.Write(h, fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, strings.Repeat("p", i%50))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDecodeIntoHead pipes ss-decode into head: it ends quietly with status
// 0 when head goes away.
func TestDecodeIntoHead(t *testing.T) {
	path := bigFile(t, 30000, 1<<16)
	for _, format := range []string{"log", "ndjson"} {
		cmd := exec.Command("bash", "-c", `set -o pipefail; "$0" --file "$1" --format "$2" | head -n 3`, filepath.Join(bin, "ss-decode"), path, format)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v (stderr %q)", format, err, errb.String())
		}
		if n := strings.Count(out.String(), "\n"); n != 3 || errb.Len() != 0 {
			t.Fatalf("%s: %d lines, stderr %q", format, n, errb.String())
		}
	}
	// The same through a pipe the test closes itself.
	cmd := exec.Command(filepath.Join(bin, "ss-decode"), "--file", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "# {") {
		t.Fatalf("%q %v", line, err)
	}
	stdout.Close()
	if err := cmd.Wait(); err != nil || errb.Len() != 0 {
		t.Fatalf("after the reader left: %v, stderr %q", err, errb.String())
	}
}

// corrupt copies a file with one byte changed.
func corrupt(t *testing.T, src string, off int64, mask byte) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= mask
	path := filepath.Join(t.TempDir(), "bad-"+filepath.Base(src))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// messageOffsets lists the offsets of a file's messages, read with ssfile.
func messageOffsets(t *testing.T, path string) []ssfile.Message {
	t.Helper()
	r, err := ssfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []ssfile.Message
	for m, err := range r.Messages(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		m.Payload = slices.Clone(m.Payload)
		out = append(out, m)
	}
	return out
}

// TestDecodeCorrupt: a payload that fails its checksum stops ss-decode with
// status 1 and its offset on stderr, after the lines before it.
func TestDecodeCorrupt(t *testing.T) {
	msgs := messageOffsets(t, testdata("mixed.ss"))
	m := msgs[5]
	payloadAt := m.Offset + int64(1+len(m.StreamKey)+24+4)
	bad := corrupt(t, testdata("mixed.ss"), payloadAt, 0x01)
	r := tool(t, "ss-decode", "--file", bad)
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("offset %d", m.Offset)) || !strings.Contains(r.stderr, "checksum") {
		t.Errorf("stderr %q", r.stderr)
	}
	if n := strings.Count(r.stdout, "\n"); n != 1+5 {
		t.Errorf("%d lines before the damaged message, want %d", n, 6)
	}
}

// TestDecodeTorn: a file cut inside a message decodes what is complete, warns
// with the offset, and exits 0.
func TestDecodeTorn(t *testing.T) {
	r := tool(t, "ss-decode", "--file", testdata("torn.ss"))
	if r.code != 0 || !regexp.MustCompile(`warning: .*offset \d+`).MatchString(r.stderr) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestDecodeBadInput: bad flags and files that are not .ss give clear errors.
func TestDecodeBadInput(t *testing.T) {
	notSS := filepath.Join(t.TempDir(), "not.ss")
	os.WriteFile(notSS, []byte("hello world, this is not a stream file at all"), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.ss")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "no file"},
		{[]string{"--file", testdata("mixed.ss"), "--format", "xml"}, 2, "unknown format"},
		{[]string{"--file", testdata("mixed.ss"), "--stream", "bad key!"}, 2, "not a stream key"},
		{[]string{"--file", testdata("mixed.ss"), "--since", "yesterday"}, 2, "cannot read"},
		{[]string{"--file", testdata("mixed.ss"), "--shard", "x"}, 2, "shard"},
		{[]string{"--file", filepath.Join(t.TempDir(), "missing.ss")}, 1, "no such file"},
		{[]string{"--file", notSS}, 1, "not a .ss file"},
		{[]string{"--file", empty}, 1, "shorter than a .ss header"},
	} {
		r := tool(t, "ss-decode", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
}

// TestDecodeFilters checks --stream, --shard and --since against filtering
// the full output.
func TestDecodeFilters(t *testing.T) {
	path := bigFile(t, 6000, 1024)
	full := strings.Split(tool(t, "ss-decode", "--file", path, "--header-only").stdout, "\n")
	lineRe := regexp.MustCompile(`^\[(\S+) \| (\S+) \| (\d+) \| (\d+)\]$`)
	filter := func(keep func(ts, key, shard string) bool) []string {
		var out []string
		for _, l := range full {
			if m := lineRe.FindStringSubmatch(l); m != nil && keep(m[1], m[2], m[4]) {
				out = append(out, l)
			}
		}
		return out
	}
	messages := func(out string) []string {
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "[") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	since := time.UnixMilli(baseTime + 4321).UTC()
	for _, c := range []struct {
		args []string
		keep func(ts, key, shard string) bool
	}{
		{[]string{"--stream", "beta"}, func(_, k, _ string) bool { return k == "beta" }},
		{[]string{"--stream", "alpha,gamma", "--shard", "1"}, func(_, k, s string) bool { return k != "beta" && s == "1" }},
		{[]string{"--shard", "0"}, func(_, _, s string) bool { return s == "0" }},
		{[]string{"--since", since.Format(time.RFC3339Nano)}, func(ts, _, _ string) bool { return ts >= "2023-06-05T13:55:57.321" }},
		{[]string{"--since", "2023-06-05T13:55:57.321", "--stream", "gamma"}, func(ts, k, _ string) bool { return k == "gamma" && ts >= "2023-06-05T13:55:57.321" }},
		{[]string{"--since", fmt.Sprint(baseTime + 5999)}, func(ts, _, _ string) bool { return ts >= "2023-06-05T13:55:58.999" }},
		{[]string{"--since", "2030-01-01"}, func(string, string, string) bool { return false }},
	} {
		r := tool(t, "ss-decode", append([]string{"--file", path, "--header-only"}, c.args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: exit %d, %s", c.args, r.code, r.stderr)
		}
		got, want := messages(r.stdout), filter(c.keep)
		if !slices.Equal(got, want) {
			t.Errorf("%v: %d lines, want %d", c.args, len(got), len(want))
		}
	}
}

// TestDecodeFollow follows a file another writer grows, and stops on
// interrupt, or by itself at the end-of-stream message.
func TestDecodeFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.ss")
	w, err := ssfile.Create(path, ssfile.WithBeaconInterval(1024), ssfile.WithEndOfStream())
	if err != nil {
		t.Fatal(err)
	}
	write := func(i int) {
		t.Helper()
		h := format.MessageHeader{StreamKey: "live", SeqNo: uint64(i), Timestamp: baseTime + uint64(i)}
		if err := w.Write(h, fmt.Appendf(nil, "m-%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	cmd := exec.Command(filepath.Join(bin, "ss-decode"), "--file", path, "--follow")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if !strings.HasSuffix(l, want) {
				t.Fatalf("line %q, want …%q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no line %q within 10s", want)
		}
	}
	expect(`"beacon_interval":1024}`)
	expect("] m-0")
	for i := 1; i < 5; i++ {
		write(i) // each line must arrive while ss-decode waits for more
		expect(fmt.Sprintf("] m-%d", i))
	}
	// The end-of-stream message ends it.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expect("] EOS")
	if _, ok := <-lines; ok {
		t.Fatal("more output after the end of stream")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v, stderr %q", err, errb.String())
	}

	// Interrupted while waiting.
	w2, err := ssfile.Create(path+"2", ssfile.WithBeaconInterval(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	cmd = exec.Command(filepath.Join(bin, "ss-decode"), "--file", path+"2", "--follow")
	stdout, _ = cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "# ") {
		t.Fatalf("%q %v", first, err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interrupted: %v", err)
	}
}

// TestVerifyAndRepair runs the tools on damaged copies of a fixture.
func TestVerifyAndRepair(t *testing.T) {
	src := testdata("mixed.ss")
	orig, _ := os.ReadFile(src)
	msgs := messageOffsets(t, src)

	// Sound: verify passes, repair rewrites the same bytes.
	if r := tool(t, "ss-verify", src, vector("consumer.ss"), vector("sample-1.ss")); r.code != 0 || strings.Count(r.stdout, ": OK:") != 3 {
		t.Fatalf("exit %d: %s", r.code, r.stdout)
	}
	out := filepath.Join(t.TempDir(), "copy.ss")
	if r := tool(t, "ss-repair", "--file", src, "--out", out); r.code != 0 || !strings.Contains(r.stdout, "nothing to repair") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, orig) {
		t.Fatal("a sound file does not repair to the same bytes")
	}

	// One flipped payload bit: reported with its offset, and exactly that
	// message is dropped.
	victim := msgs[7]
	bad := corrupt(t, src, victim.Offset+int64(1+len(victim.StreamKey)+24+4), 0x10)
	r := tool(t, "ss-verify", "--file", bad)
	if r.code != 1 || !strings.Contains(r.stdout, fmt.Sprintf("offset %d:", victim.Offset)) || !strings.Contains(r.stdout, "checksum") {
		t.Fatalf("verify: exit %d: %s", r.code, r.stdout)
	}
	repaired := filepath.Join(t.TempDir(), "repaired.ss")
	r = tool(t, "ss-repair", "--file", bad, "--out", repaired)
	if r.code != 0 || !strings.Contains(r.stdout, "dropped 1 message") {
		t.Fatalf("repair: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(bad); got[victim.Offset+int64(1+len(victim.StreamKey)+24+4)] == orig[victim.Offset+int64(1+len(victim.StreamKey)+24+4)] {
		t.Fatal("the input was changed")
	}
	if r := tool(t, "ss-verify", repaired); r.code != 0 {
		t.Fatalf("repaired file: %s", r.stdout)
	}
	kept := messageOffsets(t, repaired)
	if len(kept) != len(msgs)-1 {
		t.Fatalf("kept %d of %d", len(kept), len(msgs))
	}
	for i, j := 0, 0; i < len(msgs); i++ {
		if i == 7 {
			continue
		}
		if kept[j].MessageHeader != msgs[i].MessageHeader || !bytes.Equal(kept[j].Payload, msgs[i].Payload) {
			t.Fatalf("kept message %d is %+v, want %+v", j, kept[j].MessageHeader, msgs[i].MessageHeader)
		}
		j++
	}
	full := tool(t, "ss-decode", "--file", src).stdout
	rep := tool(t, "ss-decode", "--file", repaired).stdout
	if strings.Count(full, "\n")-strings.Count(rep, "\n") < 1 {
		t.Error("the decoded repair has as many lines as the original")
	}

	// Existing output and in-place.
	if r := tool(t, "ss-repair", "--file", bad, "--out", repaired); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("existing output: exit %d, %s", r.code, r.stderr)
	}
	if r := tool(t, "ss-repair", "--file", bad, "--in-place"); r.code != 0 {
		t.Fatalf("in place: exit %d, %s", r.code, r.stderr)
	}
	a, _ := os.ReadFile(bad)
	b, _ := os.ReadFile(repaired)
	if !bytes.Equal(a, b) {
		t.Error("in place differs from --out")
	}
	if r := tool(t, "ss-repair", "--file", bad); r.code != 2 {
		t.Errorf("no --out: exit %d", r.code)
	}
	if r := tool(t, "ss-verify", filepath.Join(t.TempDir(), "missing.ss")); r.code != 2 {
		t.Errorf("missing file: exit %d", r.code)
	}
}

// TestCutFiles cuts a small file at many offsets: ss-decode never panics and
// prints every complete message, ss-repair keeps every complete message, and
// ss-verify passes the result. (Every offset is covered in process by the
// sscheck and ssdecode tests; here a sample runs through the binaries.)
func TestCutFiles(t *testing.T) {
	src := testdata("tiny.ss")
	data, _ := os.ReadFile(src)
	msgs := messageOffsets(t, src)
	ends := make([]int64, len(msgs))
	for i := range msgs {
		if i+1 < len(msgs) {
			ends[i] = msgs[i+1].Offset // at most: the next frame start, after any beacon
		} else {
			ends[i] = int64(len(data))
		}
	}
	dir := t.TempDir()
	for cut := 0; cut <= len(data); cut += 37 {
		path := filepath.Join(dir, fmt.Sprintf("cut-%d.ss", cut))
		os.WriteFile(path, data[:cut], 0o644)
		d := tool(t, "ss-decode", "--file", path, "--header-only")
		if cut < format.HeaderSize {
			if d.code != 1 {
				t.Fatalf("cut %d: ss-decode exit %d", cut, d.code)
			}
			continue
		}
		if d.code != 0 {
			t.Fatalf("cut %d: ss-decode exit %d: %s", cut, d.code, d.stderr)
		}
		lines := strings.Count(d.stdout, "\n[")
		complete := 0
		for complete < len(msgs) && ends[complete] <= int64(cut) {
			complete++
		}
		if lines < complete {
			t.Fatalf("cut %d: %d messages printed, at least %d are complete", cut, lines, complete)
		}
		out := path + ".repaired"
		if r := tool(t, "ss-repair", "--file", path, "--out", out); r.code != 0 {
			t.Fatalf("cut %d: ss-repair exit %d: %s", cut, r.code, r.stderr)
		}
		if v := tool(t, "ss-verify", out); v.code != 0 {
			t.Fatalf("cut %d: repaired: %s", cut, v.stdout)
		}
		if kept := len(messageOffsets(t, out)); kept != lines {
			t.Fatalf("cut %d: repair kept %d, ss-decode printed %d", cut, kept, lines)
		}
	}
}
