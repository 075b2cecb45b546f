// Command sizefloor is the smallest program that calls what edgerelay
// requires of its required dependencies (urfave/cli with its help, Badger,
// wazero, quic-go, Prometheus' prompb, textparse and relabel, and
// client_golang's promhttp), one call each. Its stripped size is the floor
// under edgerelay's binary size (docs/packaging.md, "Where the default
// build's size still goes"); it is built to be measured, never run:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -ldflags '-s -w' -o /tmp/floor ./packaging/sizefloor
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"
	"github.com/quic-go/quic-go"
	"github.com/tetratelabs/wazero"
	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{Name: "sizefloor", Flags: []cli.Flag{&cli.StringFlag{Name: "a"}}, Action: run}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	ctx := context.Background()
	db, err := badger.Open(badger.DefaultOptions(c.String("a")))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Update(func(tx *badger.Txn) error { return tx.Set([]byte("a"), []byte("b")) }); err != nil {
		return err
	}
	m, err := wazero.NewRuntime(ctx).Instantiate(ctx, []byte(c.String("a")))
	fmt.Println(m, err)
	ln, err := quic.ListenAddr("127.0.0.1:0", nil, nil)
	fmt.Println(ln, err)
	conn, err := quic.DialAddr(ctx, "127.0.0.1:1", nil, nil)
	fmt.Println(conn, err)
	var wr prompb.WriteRequest
	fmt.Println(wr.Unmarshal([]byte(c.String("a"))))
	b, _ := wr.Marshal()
	p, err := textparse.New(b, "text/plain", labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		return err
	}
	for {
		e, err := p.Next()
		if err != nil {
			break
		}
		fmt.Println(e)
	}
	lb := labels.NewBuilder(labels.FromStrings("a", "b"))
	relabel.ProcessBuilder(lb, &relabel.Config{})
	http.Handle("/metrics", promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
	return http.ListenAndServe("127.0.0.1:0", nil)
}
