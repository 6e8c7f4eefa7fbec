package filedriver

import (
	"bytes"
	"os"
	"runtime"
	"testing"
)

func runtimeGosched() { runtime.Gosched() }

// corruptPayload flips a byte of the first occurrence of payload in the
// file.
func corruptPayload(t *testing.T, path, payload string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(payload))
	if i < 0 {
		t.Fatalf("%q not in %s", payload, path)
	}
	data[i] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
