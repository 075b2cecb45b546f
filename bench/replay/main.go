// Command replay measures how the edge drains a large backlog: it fills a
// real queue (store, Badger) with synced group commits, then ships it with
// the real forwarder over QUIC on loopback to a transport server that
// acknowledges each block, sampling the process's RSS throughout. Run it
// with two backlog sizes to see that memory does not grow with the backlog:
//
//	go run ./bench/replay -backlog 16MiB
//	go run ./bench/replay -backlog 2GiB
//
// The cloud side does nothing but acknowledge, so the figures are the
// edge's: append throughput, drain rate and peak RSS (both sides share the
// process; the server's share is small and constant). RSS is split as Linux
// reports it: anonymous memory (heap, stacks: what the process really
// holds) and file-backed pages of Badger's memory-mapped tables, which are
// page cache the kernel reclaims under pressure and which grow with the
// part of the queue recently read or written.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/edgerelay/edgerelay/relay/forward"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

func main() {
	var (
		backlog = flag.String("backlog", "1GiB", "backlog to build and drain")
		block   = flag.String("block", "64KiB", "block size (random, incompressible bytes)")
		group   = flag.Int("group", 16, "blocks per Append call while filling")
		dir     = flag.String("dir", "", "queue directory (default: a new temporary one, removed after)")
		limit   = flag.String("memory-limit", "128MiB", "soft Go heap limit, as the edgerelay binary sets by default; 0: none")
	)
	flag.Parse()
	if err := run(*backlog, *block, *group, *dir, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(backlogS, blockS string, group int, dir, limitS string) error {
	total, err := humanize.ParseBytes(backlogS)
	if err != nil {
		return err
	}
	bsize, err := humanize.ParseBytes(blockS)
	if err != nil {
		return err
	}
	if lim, err := humanize.ParseBytes(limitS); err != nil {
		return err
	} else if lim > 0 {
		debug.SetMemoryLimit(int64(lim))
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "edgerelay-replay-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := store.Open(filepath.Join(dir, "queue"), store.Options{Logger: log, MaxBlockBytes: int(bsize)})
	if err != nil {
		return err
	}
	defer q.Close()

	rss := &peak{}
	stop := rss.sample(100 * time.Millisecond)
	defer stop()
	blocks, err := fill(q, total, bsize, group, rss)
	if err != nil {
		return err
	}
	rss.reset()
	return drain(q, bsize, blocks, rss, log)
}

// fill appends total bytes of random blocks of bsize to q, group blocks
// per synced Append, prints the rate and returns how many blocks it wrote.
func fill(q *store.Queue, total, bsize uint64, group int, rss *peak) (int, error) {
	data := make([]byte, bsize)
	recs := make([]store.Record, group)
	start := time.Now()
	var blocks int
	for written := uint64(0); written < total; {
		for i := range recs {
			rand.Read(data)
			recs[i] = store.Record{Data: append([]byte(nil), data...), Samples: int(bsize / 8), Time: time.Now().UnixMilli()}
		}
		if _, err := q.Append(recs...); err != nil {
			return blocks, err
		}
		written += uint64(group) * bsize
		blocks += group
	}
	took := time.Since(start)
	st := q.Stats()
	fmt.Printf("fill:  %d blocks of %s, %s in %s: %.0f blocks/s, %.1f MB/s (synced group commits of %d), disk %s, peak RSS %s\n",
		blocks, humanize.IBytes(bsize), humanize.IBytes(uint64(st.Bytes)), took.Round(time.Millisecond),
		float64(blocks)/took.Seconds(), float64(st.Bytes)/1e6/took.Seconds(), group, humanize.IBytes(uint64(st.DiskBytes)), rss)
	return blocks, nil
}

// drain ships q's blocks with the real forwarder to a server that
// acknowledges each, until q is empty, and prints the rate.
func drain(q *store.Queue, bsize uint64, blocks int, rss *peak, log *slog.Logger) error {
	var got atomic.Int64
	srv, err := ackServer(bsize, &got, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	f, err := forward.New(q, forward.Config{
		Client: transport.ClientConfig{
			Addr: srv.Addr().String(), TLS: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
			Hello: transport.Hello{Tenant: "bench", Site: "replay"}, MaxBlockBytes: int(bsize),
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	start := time.Now()
	go f.Run(ctx)
	for q.Stats().Blocks > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("drain: %s acknowledged in %s: %.0f blocks/s, %.1f MB/s, peak RSS %s, Go heap now %s\n",
		humanize.IBytes(uint64(got.Load())), took.Round(time.Millisecond), float64(blocks)/took.Seconds(),
		float64(got.Load())/1e6/took.Seconds(), rss, heap())
	return nil
}

// ackServer is a transport server on loopback, with a self-signed
// certificate, that admits every edge and acknowledges every block, adding
// its bytes to got.
func ackServer(bsize uint64, got *atomic.Int64, log *slog.Logger) (*transport.Server, error) {
	certPEM, keyPEM, err := tlsutil.GenerateCA("edgerelay replay")
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return transport.NewServer(transport.ServerConfig{
		Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{pair}},
		Auth: func(h transport.Hello, _ tls.ConnectionState) (transport.Peer, error) {
			return transport.Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
		},
		Handle: func(_ context.Context, _ transport.Peer, _ uint64, _ uint8, data []byte) (transport.Ack, error) {
			got.Add(int64(len(data)))
			return transport.Ack{}, nil
		},
		MaxBlockBytes: int(bsize), Logger: log,
	})
}

// peak tracks the process's peak anonymous and file-backed resident memory.
type peak struct{ anon, file atomic.Uint64 }

func (p *peak) String() string {
	return fmt.Sprintf("%s anonymous + %s file-backed", humanize.IBytes(p.anon.Load()), humanize.IBytes(p.file.Load()))
}

func (p *peak) reset() {
	a, f := rssNow()
	p.anon.Store(a)
	p.file.Store(f)
}

func (p *peak) sample(every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			a, f := rssNow()
			if a > p.anon.Load() {
				p.anon.Store(a)
			}
			if f > p.file.Load() {
				p.file.Store(f)
			}
			select {
			case <-t.C:
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// rssNow reads RssAnon and RssFile from /proc/self/status (Linux).
func rssNow() (anon, file uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	kb := func(v string) uint64 {
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n << 10
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			anon = kb(v)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			file = kb(v)
		}
	}
	return anon, file
}

func heap() string { return humanize.IBytes(currentHeap()) }
