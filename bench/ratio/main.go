// Command ratio reads the output of bench/rotate.sh and prints, for each
// case against a baseline, the median and quartiles of their per-round
// ratios (wall time per op and CPU time per message): a paired comparison,
// steadier than comparing medians when the load of a shared machine drifts
// from round to round.
//
//	go run ./bench/ratio -rounds-of 4 -base new.test:KafkaConsume/franz-go out.txt \
//		new.test:KafkaConsume/adapter old.test:KafkaConsume/adapter
//
// Names are the benchmark names of rotate.sh's output without "Benchmark"
// and without the GOMAXPROCS suffix.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	per := flag.Int("rounds-of", 0, "lines per round: the number of specs given to rotate.sh")
	base := flag.String("base", "", "the baseline case")
	flag.Parse()
	if *per <= 0 || *base == "" || flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: ratio -rounds-of K -base NAME FILE NAME...")
		os.Exit(2)
	}
	rounds, err := readRounds(flag.Arg(0), *per)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio:", err)
		os.Exit(1)
	}
	for _, name := range flag.Args()[1:] {
		for _, unit := range []string{"ns/op", "cpu-ns/msg"} {
			var rs []float64
			for _, r := range rounds {
				b, okb := r[*base][unit]
				x, okx := r[name][unit]
				if okb && okx && b > 0 {
					rs = append(rs, x/b)
				}
			}
			if len(rs) == 0 {
				fmt.Printf("%s / %s %s: no rounds with both\n", name, *base, unit)
				continue
			}
			slices.Sort(rs)
			fmt.Printf("%s / %s  %-10s median %.3f  quartiles %.3f-%.3f  rounds %d\n",
				name, *base, unit, quantile(rs, 0.5), quantile(rs, 0.25), quantile(rs, 0.75), len(rs))
		}
	}
}

var suffix = regexp.MustCompile(`-\d+$`)

// readRounds returns, per round, each case's values by unit.
func readRounds(path string, per int) ([]map[string]map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rounds []map[string]map[string]float64
	var cur map[string]map[string]float64
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if n%per == 0 {
			cur = make(map[string]map[string]float64)
			rounds = append(rounds, cur)
		}
		n++
		name := suffix.ReplaceAllString(strings.TrimPrefix(fields[0], "Benchmark"), "")
		vals := make(map[string]float64)
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				vals[fields[i+1]] = v
			}
		}
		cur[name] = vals
	}
	if n%per != 0 {
		return nil, fmt.Errorf("%s: %d result lines, not a multiple of %d", path, n, per)
	}
	return rounds, sc.Err()
}

// quantile of sorted xs, interpolating linearly.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}
