// Command wire measures bytes on the wire per sample, and encode and decode
// time per sample, of edgerelay's delta codec against Prometheus
// remote_write 1.0 (snappy and zstd) and edgerelay's block codec v1, on the
// same recorded and synthetic workloads. Run it from the module root:
//
//	go run ./bench/wire
//
// It is single-threaded; nothing in it is shared between goroutines.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
)

func main() {
	var (
		which    = flag.String("workload", "all", "all, node_exporter, synthetic or peers")
		dir      = flag.String("testdata", "bench/testdata/node_exporter", "directory of recorded node_exporter scrapes")
		size     = flag.Int("series", 100_000, "series of the synthetic target")
		scrapes  = flag.Int("scrapes", 20, "scrapes of the synthetic target")
		interval = flag.Duration("interval", 15*time.Second, "scrape interval of the synthetic target")
		churn    = flag.Float64("churn", 0.01, "fraction of the synthetic target's series replaced per scrape")
		seed     = flag.Uint64("seed", 1, "seed of the synthetic target")
		minSmp   = flag.Int("min-samples", 500_000, "repeat timing runs until this many samples were timed")
		withMeta = flag.Bool("metadata", true, "keep HELP/TYPE metadata in the workloads (remote_write 1.0 leaves it out either way)")
		every    = flag.Int("full-every", 40, "scrapes per generation for the amortized column (40 = full_every 10m at a 15 s interval)")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
		parts    = flag.Bool("breakdown", true, "print where the delta v3 scheme's steady-state bytes go, part by part")
		pSynth   = flag.String("peers-synth", "10k,10k,100k", "series of the synthetic targets of the peers workload (bench/peers' -synth)")
		pScrapes = flag.Int("peers-scrapes", 12, "scrapes of each target of the peers workload")
		pIntv    = flag.Duration("peers-interval", 5*time.Second, "scrape interval of the peers workload")
		hosts    = flag.Int("fleet", 0, "instead: the wire cost of this many node_exporter hosts with and without builtin:aggregate (fleet.go)")
	)
	flag.Parse()
	if *hosts > 0 {
		fleet(*dir, *hosts)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wire:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "wire:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	var ws []*workload
	node, err := loadNodeExporter(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wire:", err)
		os.Exit(1)
	}
	if *which == "all" || *which == "node_exporter" {
		ws = append(ws, node)
	}
	if *which == "all" || *which == "synthetic" {
		ws = append(ws, synthetic(*seed, *size, *scrapes, interval.Milliseconds(), *churn))
	}
	if *which == "all" || *which == "peers" {
		ns, err := parseSeriesList(*pSynth)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wire:", err)
			os.Exit(1)
		}
		ws = append(ws, peersWorkload(node, ns, *pScrapes, pIntv.Milliseconds(), *seed))
	}

	if !*withMeta {
		for _, w := range ws {
			for _, b := range w.scrapes {
				b.Metadata = nil
			}
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tscheme\tsamples\tB/sample steady\tB/sample all\tB/sample 1st scrape\tB/sample amortized\tvs RW snappy\tencode ns/sample\tdecode ns/sample\t")
	for _, w := range ws {
		deltaScrapesOf(w)
		for _, v := range []int{delta.Version3, delta.Version} {
			if err := verifyDelta(w, v); err != nil {
				fmt.Fprintln(os.Stderr, "wire:", err)
				os.Exit(1)
			}
		}
		rs := make([]result, 0, 4)
		for _, sc := range schemes() {
			rs = append(rs, measure(w, sc, *minSmp))
		}
		for i, sc := range schemes() {
			r := rs[i]
			// One full frame per generation of *every scrapes.
			amort := (r.first + float64(*every-1)*r.steady) / float64(*every)
			ratio := fmt.Sprintf("%.1f×", rs[2].steady/r.steady)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.3f\t%.2f\t%.3f\t%s\t%.0f\t%.0f\t\n", w.name, sc.name, r.samples,
				r.steady, r.all, r.first, amort, ratio, r.encNs, r.decNs)
		}
	}
	tw.Flush()
	if *parts {
		for _, w := range ws {
			breakdown(w)
		}
	}
}

type result struct {
	samples            int
	steady, all, first float64 // bytes per sample
	encNs, decNs       float64
}

// deltaScrapesOf converts w's batches for the delta scheme once, untimed.
func deltaScrapesOf(w *workload) []*delta.Scrape {
	ds := toScrapes(w.scrapes)
	for i, b := range w.scrapes {
		deltaScrapes[b] = ds[i]
	}
	return ds
}

func measure(w *workload, sc scheme, minSamples int) result {
	total := w.samples(0)
	reps := max(1, minSamples/total)
	var payloads [][]byte
	var first []int
	encBest, decBest := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	for range reps {
		start := time.Now()
		payloads, first = sc.encode(w.scrapes)
		encBest = min(encBest, time.Since(start))
	}
	for range reps {
		start := time.Now()
		if n := sc.decode(payloads); n != total {
			panic(fmt.Sprintf("BUG: %s decoded %d samples of %d", sc.name, n, total))
		}
		decBest = min(decBest, time.Since(start))
	}
	r := result{samples: total, encNs: float64(encBest.Nanoseconds()) / float64(total),
		decNs: float64(decBest.Nanoseconds()) / float64(total)}

	all, firstBytes, steadyBytes := 0, 0, 0
	for i, p := range payloads {
		all += len(p)
		if first[i] < w.firstScrapes() {
			firstBytes += len(p)
		} else {
			steadyBytes += len(p)
		}
	}
	all += sc.framing * len(payloads)
	firstBytes += sc.framing * countFirst(first, w.firstScrapes())
	steadyBytes += sc.framing * (len(payloads) - countFirst(first, w.firstScrapes()))
	r.all = float64(all) / float64(total)
	// Payloads carrying the first scrape may carry later ones too (remote
	// write batches cross scrapes): the first scrape's figure then comes
	// from encoding it alone, and steady state from the other scrapes alone.
	if !strings.HasPrefix(sc.name, "edgerelay delta") {
		p, _ := sc.encode(w.scrapes[:w.firstScrapes()])
		firstBytes = size(p) + sc.framing*len(p)
		p, _ = sc.encode(w.scrapes[w.firstScrapes():])
		steadyBytes = size(p) + sc.framing*len(p)
	}
	r.first = float64(firstBytes) / float64(w.samples(0)-w.samples(w.firstScrapes()))
	r.steady = float64(steadyBytes) / float64(w.samples(w.firstScrapes()))
	return r
}

// countFirst counts the payloads whose first scrape is among the first n.
func countFirst(first []int, n int) int {
	c := 0
	for _, f := range first {
		if f < n {
			c++
		}
	}
	return c
}

func size(ps [][]byte) int {
	n := 0
	for _, p := range ps {
		n += len(p)
	}
	return n
}

// verifyDelta decodes the delta scheme's payloads and checks every sample
// against the workload: labels, timestamp and value bits.
func verifyDelta(w *workload, version int) error {
	ds := toScrapes(w.scrapes)
	enc, dec := delta.NewEncoder(1), delta.NewDecoder()
	enc.SetVersion(version)
	for i, s := range ds {
		got, err := dec.Apply(enc.AppendFrame(nil, s))
		if err != nil {
			return fmt.Errorf("%s scrape %d: %w", w.name, i, err)
		}
		want := map[string]delta.Series{}
		for _, sr := range s.Series {
			want[sr.Labels] = sr
		}
		if len(got.Series) != len(want) {
			return fmt.Errorf("%s scrape %d: %d series decoded, want %d", w.name, i, len(got.Series), len(want))
		}
		for _, sr := range got.Series {
			sr.ID = 0 // the decoder's dictionary place; the encoder is given none
			if want[sr.Labels] != sr {
				return fmt.Errorf("%s scrape %d: decoded %+v, want %+v", w.name, i, sr, want[sr.Labels])
			}
		}
	}
	return nil
}
