package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/store"
)

func queueCommand() *cli.Command {
	return &cli.Command{
		Name:  "queue",
		Usage: "inspect and carry the edge's store-and-forward queue",
		Subcommands: []*cli.Command{
			{
				Name:  "status",
				Usage: "print backlog blocks, bytes, samples and oldest/newest timestamps (the edge must be stopped)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "data-dir", Required: true, Usage: "the edge's data_dir", EnvVars: envs("data-dir")},
				},
				Action: func(c *cli.Context) error {
					q, err := store.Open(filepath.Join(c.String("data-dir"), "queue"), store.Options{})
					if err != nil {
						return err
					}
					defer q.Close()
					st := q.Stats()
					ts := func(ms int64) string {
						if ms == 0 {
							return "-"
						}
						return time.UnixMilli(ms).UTC().Format(time.RFC3339)
					}
					w := c.App.Writer
					fmt.Fprintf(w, "queue_id        %016x\n", q.ID())
					fmt.Fprintf(w, "blocks          %d\n", st.Blocks)
					fmt.Fprintf(w, "bytes           %d (%s)\n", st.Bytes, humanize.IBytes(uint64(st.Bytes)))
					fmt.Fprintf(w, "samples         %d\n", st.Samples)
					fmt.Fprintf(w, "oldest          %s\n", ts(st.OldestTime))
					fmt.Fprintf(w, "newest          %s\n", ts(st.NewestTime))
					fmt.Fprintf(w, "head_seq        %d\n", st.HeadSeq)
					fmt.Fprintf(w, "next_seq        %d\n", st.NextSeq)
					if st.Backlog {
						// Blocks from here on drain beside the older ones.
						fmt.Fprintf(w, "live_lane_seq   %d\n", st.Split.Seq)
					}
					fmt.Fprintf(w, "dropped_blocks  %d\n", st.DroppedBlocks)
					fmt.Fprintf(w, "dropped_samples %d\n", st.DroppedSamples)
					if st.RetainedBlocks > 0 {
						// Acknowledged, kept to rebuild a new cloud's delta bases.
						fmt.Fprintf(w, "retained        %d blocks, %d bytes of delta generation %d\n", st.RetainedBlocks, st.RetainedBytes, st.RetainedGroup)
					}
					return printCursors(w, q)
				},
			},
			queueExportCommand(),
			queueImportCommand(),
		},
	}
}

// printCursors writes one line per upstream position kept in the queue
// (edge.upstreams): how far that upstream acknowledged it and what it has
// still to take.
func printCursors(w io.Writer, q *store.Queue) error {
	cs, err := q.Cursors()
	if err != nil {
		return err
	}
	for _, c := range cs {
		infos, err := q.Info(c.Acked, 0)
		if err != nil {
			return err
		}
		var bytes, samples int64
		for _, in := range infos {
			bytes, samples = bytes+in.Bytes, samples+in.Samples
		}
		fmt.Fprintf(w, "upstream %s acked_seq %d backlog_blocks %d backlog_bytes %d backlog_samples %d", c.Name, c.Acked, len(infos), bytes, samples)
		if c.Skip != 0 {
			fmt.Fprintf(w, " skip_group %d", c.Skip)
		}
		fmt.Fprintln(w)
	}
	return nil
}
