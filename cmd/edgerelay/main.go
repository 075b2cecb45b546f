// Command edgerelay moves Prometheus metrics from edge sites to a cloud
// relay: one binary for the edge role, the cloud role, a one-process demo,
// and the tools around them (config checks, certificates, plugins, queue).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/internal/memlimit"
	"github.com/edgerelay/edgerelay/relay/version"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "edgerelay:", err)
		}
		os.Exit(1)
	}
}

// errReported is returned by commands that already printed why they failed.
var errReported = errors.New("failed")

func newApp() *cli.App {
	return &cli.App{
		Name:    "edgerelay",
		Usage:   "move Prometheus metrics from edge sites to a cloud relay",
		Version: version.String(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", EnvVars: envs("log-level")},
			&cli.StringFlag{Name: "memory-limit", Value: "128MiB", Usage: "soft limit for the Go heap (GOMEMLIMIT); 0 disables; the GOMEMLIMIT variable wins; left at its default, it is raised while the live heap needs more than it allows, and a process running only the cloud role drops it (see docs/operations.md)", EnvVars: envs("memory-limit")},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", EnvVars: envs("log-format")},
		},
		Before: setMemoryLimit,
		Commands: []*cli.Command{
			runCommand(),
			demoCommand(),
			checkConfigCommand(),
			certsCommand(),
			pluginCommand(),
			queueCommand(),
			versionCommand(),
		},
	}
}

// envs names the environment variable that may set a flag: EDGERELAY_<FLAG>.
func envs(flag string) []string {
	return []string{"EDGERELAY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

func logger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format must be text or json; got %q", c.String("log-format"))
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print version, commit and Go version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, version.String())
			return nil
		},
	}
}

// setMemoryLimit applies --memory-limit unless GOMEMLIMIT is set. Badger and
// the Go runtime otherwise let a gateway's RSS drift well past what the
// queue needs. The default limit is a floor a memlimit.Guard raises while
// the live heap needs more (more series than it holds): under it the
// collector would run without pause. A limit given explicitly is kept as
// given.
func setMemoryLimit(c *cli.Context) error {
	if os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	n, err := humanize.ParseBytes(c.String("memory-limit"))
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if n == 0 {
		return nil
	}
	debug.SetMemoryLimit(int64(n))
	if !c.IsSet("memory-limit") {
		log, err := logger(c)
		if err != nil {
			log = slog.Default() // the command reports the bad flag
		}
		g := &memlimit.Guard{Floor: int64(n), Log: log.With("component", "memory limit")}
		ctx, cancel := context.WithCancel(context.Background())
		stopDefaultLimit = cancel
		go func() { _ = g.Run(ctx) }() // for the life of the process, or until liftDefaultLimit
	}
	return nil
}

// stopDefaultLimit stops the guard of the default memory limit; nil when
// the limit in force was set explicitly (or none is).
var stopDefaultLimit context.CancelFunc

// liftDefaultLimit removes the default memory limit, which is sized for a
// gateway, from a process running only the cloud role: a cloud holds the
// delta bases and /federate entries of all its sites, and under a limit its
// live heap outgrows (a 240k-series site, or a few hundred small ones) the
// collector runs back to back until the guard catches up, tripling the
// cloud's CPU per sample. The collector then follows GOGC (the heap grows
// to about twice the live heap). An explicit --memory-limit or GOMEMLIMIT
// is kept as given.
func liftDefaultLimit(log *slog.Logger) {
	if stopDefaultLimit == nil {
		return
	}
	stopDefaultLimit()
	stopDefaultLimit = nil
	debug.SetMemoryLimit(math.MaxInt64)
	log.Info("cloud only: no default memory limit (set --memory-limit to bound the heap)")
}

// edgeGCPercent is the collector's GOGC in a process running only the
// edge role. An edge allocates little between scrapes (its scrape loop,
// batches and delta bases are reused; under 1 MB/s at 24k samples/s), so
// the heap goal GOGC=100 sets, twice the live heap, is room the collector
// hardly uses and the process keeps as RSS: at 25 the heap grows to a
// quarter over the live heap.
const edgeGCPercent = 25

// setEdgeGC sets edgeGCPercent unless GOGC is set.
func setEdgeGC(log *slog.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(edgeGCPercent)
	log.Info("edge only: GOGC=25 (set GOGC to change it)")
}
