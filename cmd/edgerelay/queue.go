package main

import (
	"fmt"
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
					return nil
				},
			},
			queueExportCommand(),
			queueImportCommand(),
		},
	}
}
