// Package notify announces every new scrape directory the cloud writes
// (package files) to an exec hook and/or a webhook (cloud.notify), at least
// once, through a bounded spool on the cloud's disk per hook.
//
// The files output is wrapped (Files): once a block's directories are
// durable, its notices are written durably to each hook's spool (spool.go)
// before Deliver returns, so the block is acknowledged to the edge only
// with its notices safe; a crash, or a hook down for hours, loses none.
// Each hook's sender (sender.go) delivers its spool in order, retrying a
// failed delivery with backoff; the receive path never waits for a hook.
// Past spool_max_bytes the oldest notices are dropped and counted.
//
// A notice's id is its directory relative to files_dir. A block delivered
// again — after a crash before its acknowledgement, or after another
// output failed it — announces the directories it went to again (the files
// found them written); while the first delivery is not yet committed such
// a repeat is recognised and not spooled twice. Receivers that must see
// each directory once deduplicate by id.
//
// Safe for concurrent use.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/relay/cloud/files"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
)

// Reasons notices are dropped: the label of edgerelay_notify_dropped_total.
const (
	reasonSpoolFull = "spool_full"
	reasonCorrupt   = "corrupt"
)

// maxPending bounds the blocks remembered between delivery and commit.
const maxPending = 4096

// Config configures a Notifier.
type Config struct {
	// FilesDir is the files output's root (cloud.files_dir): ids are
	// relative to it.
	FilesDir string
	// SpoolDir holds one spool directory per hook (cloud.data_dir/notify).
	SpoolDir string
	// Notify is cloud.notify, defaults applied.
	Notify config.Notify
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil means none.
	Registerer prometheus.Registerer
}

// Notifier spools and delivers notices.
type Notifier struct {
	root    string
	senders []*sender

	mu      sync.Mutex
	pending map[blockKey]struct{} // spooled, not yet committed
}

// blockKey identifies a block of an edge's queue.
type blockKey struct {
	tenant, site string
	queue, seq   uint64
}

// New opens the spools of the configured hooks; it returns nil when
// cloud.notify configures none.
func New(cfg Config) (*Notifier, error) {
	var hooks []hook
	if e := cfg.Notify.Exec; e != nil {
		hooks = append(hooks, &execHook{cfg: *e})
	}
	if w := cfg.Notify.Webhook; w != nil {
		hooks = append(hooks, newWebhook(*w))
	}
	if len(hooks) == 0 {
		return nil, nil
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	root, err := filepath.Abs(cfg.FilesDir)
	if err != nil {
		return nil, err
	}
	n := &Notifier{root: root, pending: map[blockKey]struct{}{}}
	m := newMetrics(cfg.Registerer, cfg.Logger)
	for _, h := range hooks {
		hm := m.hook(h.name())
		sp, err := openSpool(filepath.Join(cfg.SpoolDir, h.name()), int64(cfg.Notify.SpoolMaxBytes), hm)
		if err != nil {
			return nil, fmt.Errorf("notify spool: %w", err)
		}
		n.senders = append(n.senders, &sender{hook: h, spool: sp, minBackoff: cfg.Notify.MinBackoff,
			maxBackoff: cfg.Notify.MaxBackoff, log: cfg.Logger, m: hm})
	}
	return n, nil
}

// add spools the notices of d's directories for every hook, durably,
// unless d was spooled already and is not committed yet.
func (n *Notifier) add(d *output.Delivery, dirs []files.Dir) error {
	if len(dirs) == 0 {
		return nil
	}
	k := blockKey{d.Tenant, d.Site, d.QueueID, d.Seq}
	n.mu.Lock()
	_, seen := n.pending[k]
	n.mu.Unlock()
	if seen {
		return nil
	}
	notices := make([]Notice, len(dirs))
	for i, dir := range dirs {
		notices[i] = noticeOf(n.root, dir)
	}
	rec, err := encode(notices)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	for _, s := range n.senders {
		if err := s.spool.add(rec, len(notices)); err != nil {
			return fmt.Errorf("notify %s spool: %w", s.hook.name(), err)
		}
	}
	n.mu.Lock()
	if len(n.pending) >= maxPending {
		clear(n.pending) // blocks failed and never sent again: forget them
	}
	n.pending[k] = struct{}{}
	n.mu.Unlock()
	return nil
}

// committed forgets d: it is never delivered again.
func (n *Notifier) committed(d *output.Delivery) {
	n.mu.Lock()
	delete(n.pending, blockKey{d.Tenant, d.Site, d.QueueID, d.Seq})
	n.mu.Unlock()
}

// Describe says, for the status page, which hooks get notices and how many
// wait in each spool; n may be nil (no hook configured).
func (n *Notifier) Describe() string {
	if n == nil {
		return "no hook (cloud.notify)"
	}
	var parts []string
	for _, s := range n.senders {
		s.spool.mu.Lock()
		parts = append(parts, fmt.Sprintf("%s: %d notices waiting", s.hook.name(), s.spool.notices))
		s.spool.mu.Unlock()
	}
	return strings.Join(parts, "; ")
}

// Run delivers every hook's spool until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range n.senders {
		g.Go(func() error { return s.run(gctx) })
	}
	return g.Wait()
}

// Files is the files output announcing the directories it writes: the
// cloud's files output when cloud.notify configures a hook.
type Files struct {
	W *files.Writer
	N *Notifier
}

var (
	_ output.Output    = Files{}
	_ output.Committer = Files{}
)

// Name is "files".
func (f Files) Name() string { return "files" }

// Deliver writes d's directories, then spools their notices.
func (f Files) Deliver(ctx context.Context, d *output.Delivery) error {
	dirs, err := f.W.DeliverDirs(ctx, d)
	if err != nil {
		return err // the block is sent again: its notices go then
	}
	return f.N.add(d, dirs)
}

// Committed forgets d's notices were spooled.
func (f Files) Committed(d *output.Delivery) { f.N.committed(d) }

// Run runs the files' retention and the hooks' senders.
func (f Files) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return f.W.Run(gctx) })
	g.Go(func() error { return f.N.Run(gctx) })
	return g.Wait()
}

// hookMetrics are one hook's metrics.
type hookMetrics struct {
	sent, failed, retries    prometheus.Counter
	dropped                  *prometheus.CounterVec // by reason
	spoolNotices, spoolBytes prometheus.Gauge
	log                      *slog.Logger
}

type metrics struct {
	sent, failed, retries    *prometheus.CounterVec
	dropped                  *prometheus.CounterVec
	spoolNotices, spoolBytes *prometheus.GaugeVec
	log                      *slog.Logger
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) metrics {
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgerelay_notify_" + name, Help: help}, append([]string{"hook"}, labels...))
	}
	gv := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgerelay_notify_" + name, Help: help}, []string{"hook"})
	}
	m := metrics{
		sent:         cv("sent_total", "Notices of new scrape directories the hook took (webhook 2xx, exec exit 0)."),
		failed:       cv("failed_total", "Notices the hook refused for good (webhook 4xx other than 408, 425, 429): not retried."),
		retries:      cv("retries_total", "Notices whose delivery failed and was retried after backoff."),
		dropped:      cv("dropped_total", "Notices dropped undelivered: spool_full (past cloud.notify.spool_max_bytes, oldest first) or corrupt (a spool record unreadable).", "reason"),
		spoolNotices: gv("spool_notices", "Notices in the hook's spool, not yet delivered."),
		spoolBytes:   gv("spool_bytes", "Bytes of the hook's spool on disk."),
		log:          log,
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.retries, m.dropped, m.spoolNotices, m.spoolBytes)
	}
	return m
}

func (m metrics) hook(name string) hookMetrics {
	h := hookMetrics{sent: m.sent.WithLabelValues(name), failed: m.failed.WithLabelValues(name), retries: m.retries.WithLabelValues(name),
		dropped: m.dropped.MustCurryWith(prometheus.Labels{"hook": name}), spoolNotices: m.spoolNotices.WithLabelValues(name),
		spoolBytes: m.spoolBytes.WithLabelValues(name), log: m.log}
	for _, r := range []string{reasonSpoolFull, reasonCorrupt} {
		h.dropped.WithLabelValues(r)
	}
	return h
}
