package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/klauspost/compress/zstd"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
)

// szenc compresses a frame part alone, with the block codec's settings.
var szenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
	zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<20), zstd.WithEncoderCRC(false))

// partNames are the parts of a frame (delta.Sections), in order.
var partNames = []string{"header (target, generation, timestamp)", "metadata", "series (new label sets, absent, counts)",
	"record ids (gaps)", "histograms, exemplars", "sample headers", "xors (top bytes)", "ints (decimal Δ, Δ of Δ)",
	"xors (low bytes)", "explicit timestamps"}

func partSizes(s delta.Sections) []int {
	return []int{s.Header, s.Meta, s.Series, s.Gaps, s.Extra, s.Headers, s.Top, s.Ints, s.XORs, s.Timestamps}
}

// breakdown prints where the delta v3 scheme's steady-state bytes go: each
// part of the frames raw, and compressed alone per block (with the block's
// zstd settings: what the part costs when zstd cannot borrow from the
// others), and what the blocks and the transport's framing cost in all.
func breakdown(w *workload) {
	raw := make([]int, len(partNames))
	alone := make([]int, len(partNames))
	blocks, blockBytes := 0, 0
	var buf [][]byte
	deltaBlocks(w.scrapes, delta.Version3, func(first int, blk []byte, secs []delta.Sections) {
		if first < w.firstScrapes() {
			return
		}
		blocks++
		blockBytes += len(blk)
		d, err := decodeFrames(blk)
		if err != nil {
			panic(err)
		}
		buf = buf[:0]
		for range partNames {
			buf = append(buf, nil)
		}
		for i, f := range d {
			off := 0
			for p, n := range partSizes(secs[i]) {
				buf[p] = append(buf[p], f[off:off+n]...)
				off += n
			}
		}
		for p, b := range buf {
			raw[p] += len(b)
			if len(b) > 0 {
				alone[p] += len(szenc.EncodeAll(b, nil))
			}
		}
	})
	n := float64(w.samples(w.firstScrapes()))
	fmt.Printf("\n%s: delta v3, steady state, %d blocks, %.0f samples\n", w.name, blocks, n)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "part\traw B/sample\tzstd alone B/sample\t")
	sr, sa := 0, 0
	for p, name := range partNames {
		sr, sa = sr+raw[p], sa+alone[p]
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t\n", name, float64(raw[p])/n, float64(alone[p])/n)
	}
	fmt.Fprintf(tw, "frames\t%.4f\t%.4f\t\n", float64(sr)/n, float64(sa)/n)
	fmt.Fprintf(tw, "blocks as queued (container, frames, zstd together)\t\t%.4f\t\n", float64(blockBytes)/n)
	fmt.Fprintf(tw, "+ transport framing (%d B per block)\t\t%.4f\t\n", blockFraming, float64(blockBytes+blockFraming*blocks)/n)
	tw.Flush()
}

// decodeFrames returns the frames of a block.
func decodeFrames(blk []byte) ([][]byte, error) {
	b, err := block.Decode(blk)
	if err != nil {
		return nil, err
	}
	return b.Frames, nil
}
