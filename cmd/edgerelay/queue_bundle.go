package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/internal/fsutil"
	"github.com/edgerelay/edgerelay/relay/cloud"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/store"
)

func queueExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the edge's backlog into one checksummed bundle file to carry across an air gap (the edge must be stopped)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Required: true, Usage: "the edge's data_dir", EnvVars: envs("data-dir")},
			&cli.StringFlag{Name: "out", Required: true, Usage: "bundle `FILE` to write", EnvVars: envs("out")},
			&cli.BoolFlag{Name: "ack-exported", Usage: "delete exported blocks from the queue once the bundle is safely written", EnvVars: envs("ack-exported")},
			&cli.StringFlag{Name: "until", Usage: "export only the oldest blocks up to this `TIME` (RFC 3339, or a duration ago such as 6h; whole delta generations are kept together)", EnvVars: envs("until")},
		},
		Action: func(c *cli.Context) error {
			q, err := store.Open(filepath.Join(c.String("data-dir"), "queue"), store.Options{})
			if err != nil {
				return err
			}
			defer q.Close()
			until, err := parseUntil(c.String("until"), time.Now())
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			bar := newProgress(c.App.ErrWriter, "export", q.Stats().Bytes)
			var x store.Exported
			err = fsutil.Write(c.String("out"), 0o666, func(w io.Writer) error {
				bw := bufio.NewWriterSize(w, 1<<20)
				var err error
				x, err = q.Export(bw, 0, until, func(done, total int64) { bar.update(done, total) })
				if err != nil {
					return err
				}
				return bw.Flush()
			})
			last := x.Last
			bar.done()
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "exported %d blocks (%d samples, %s) through seq %d of queue %016x to %s\n",
				x.Blocks, x.Samples, humanize.IBytes(uint64(x.Bytes)), last, q.ID(), c.String("out"))
			if c.Bool("ack-exported") && last > 0 {
				if err := q.AckThrough(last); err != nil {
					return fmt.Errorf("ack exported blocks: %w", err)
				}
				fmt.Fprintf(c.App.Writer, "deleted the exported blocks from the queue\n")
			} else {
				fmt.Fprintf(c.App.Writer, "the blocks stay queued; the cloud drops whichever copy arrives second\n")
			}
			return nil
		},
	}
}

// parseUntil reads --until: empty is no limit (0), otherwise an RFC 3339
// time or a duration before now; the result is in Unix milliseconds.
func parseUntil(s string, now time.Time) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("duration %s is negative", s)
		}
		return now.Add(-d).UnixMilli(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t.UnixMilli(), nil
}

func queueImportCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "apply a bundle on the cloud side through the same dedup, tenant check and file path as live traffic",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Required: true, Usage: "the cloud's configuration `FILE`", EnvVars: envs("config")},
			&cli.StringFlag{Name: "in", Required: true, Usage: "bundle `FILE` to read", EnvVars: envs("in")},
		},
		Action: func(c *cli.Context) error {
			log, err := logger(c)
			if err != nil {
				return err
			}
			cfg, err := config.Load(c.String("config"))
			if err != nil {
				return err
			}
			if cfg.Cloud == nil {
				return fmt.Errorf("%s has no cloud: section", c.String("config"))
			}
			f, err := os.Open(c.String("in"))
			if err != nil {
				return err
			}
			defer f.Close()
			fi, _ := f.Stat()
			bar := newProgress(c.App.ErrWriter, "import", fi.Size())
			st, err := cloud.Import(c.Context, cfg.Cloud, cloud.Options{Logger: log}, bufio.NewReaderSize(f, 1<<20),
				func(_ int, n int64) { bar.update(n, fi.Size()) })
			bar.done()
			fmt.Fprintf(c.App.Writer, "imported %d blocks (%d samples); %d were already there\n", st.Blocks, st.Samples, st.Duplicates)
			return err
		},
	}
}

// progress draws a one-line progress bar, at most ten times a second.
type progress struct {
	w     io.Writer
	what  string
	total int64
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, what string, total int64) *progress {
	return &progress{w: w, what: what, total: total}
}

func (p *progress) update(done, total int64) {
	if total > 0 {
		p.total = total
	}
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw(done)
}

func (p *progress) draw(done int64) {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(done)/float64(p.total))
	}
	n := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		if i < n {
			bar[i] = '#'
		} else {
			bar[i] = '.'
		}
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%% %s", p.what, bar, frac*100, humanize.IBytes(uint64(done)))
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		p.draw(p.total)
		fmt.Fprintln(p.w)
	}
}
