package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadRoundsAndQuantile(t *testing.T) {
	out := `goos: linux
Benchmarkkafka.test:KafkaConsume/adapter-2   	 100	 240.0 ns/op	 1049.04 MB/s	 300.0 cpu-ns/msg	 4102831 msgs/s
Benchmarkkafka.test:KafkaConsume/franz-go-2  	 100	 200.0 ns/op	 1311.80 MB/s	 250.0 cpu-ns/msg	 5131786 msgs/s
Benchmarkkafka.test:KafkaConsume/franz-go-2  	 100	 100.0 ns/op	 1311.80 MB/s	 100.0 cpu-ns/msg	 5131786 msgs/s
Benchmarkkafka.test:KafkaConsume/adapter-2   	 100	 110.0 ns/op	 1049.04 MB/s	 120.0 cpu-ns/msg	 4102831 msgs/s
`
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	rounds, err := readRounds(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != 2 {
		t.Fatalf("%d rounds, want 2", len(rounds))
	}
	if got := rounds[1]["kafka.test:KafkaConsume/adapter"]["ns/op"]; got != 110 {
		t.Fatalf("round 2 adapter ns/op = %v, want 110", got)
	}
	if got := rounds[0]["kafka.test:KafkaConsume/franz-go"]["cpu-ns/msg"]; got != 250 {
		t.Fatalf("round 1 franz-go cpu-ns/msg = %v, want 250", got)
	}
	if _, err := readRounds(path, 3); err == nil {
		t.Fatal("4 lines read as rounds of 3")
	}
	for _, tc := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5}, 0.25, 2},
		{[]float64{7}, 0.75, 7},
	} {
		if got := quantile(tc.xs, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.xs, tc.q, got, tc.want)
		}
	}
}
