// Command target serves synthetic scrape targets (package relay/synth) for
// bench/live/run.sh: one listener per -serve flag, each ADDR=SERIES
// (series per family: a target of N serves about 2N+13 samples).
//
//	go run ./bench/live/target -serve 127.0.0.1:9101=5000 -serve 127.0.0.1:9102=50000
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/edgerelay/edgerelay/relay/synth"
)

type serveFlags []string

func (s *serveFlags) String() string     { return strings.Join(*s, ",") }
func (s *serveFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var serve serveFlags
	flag.Var(&serve, "serve", "ADDR=SERIES, repeatable")
	flag.Parse()
	errs := make(chan error, len(serve))
	for _, s := range serve {
		addr, n, ok := strings.Cut(s, "=")
		series, err := strconv.Atoi(n)
		if !ok || err != nil || series <= 0 {
			fmt.Fprintf(os.Stderr, "target: -serve %q: want ADDR=SERIES\n", s)
			os.Exit(2)
		}
		go func() { errs <- http.ListenAndServe(addr, &synth.Target{Series: series}) }()
	}
	if len(serve) == 0 {
		fmt.Fprintln(os.Stderr, "target: no -serve given")
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "target:", <-errs)
	os.Exit(1)
}
