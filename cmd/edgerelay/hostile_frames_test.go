package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
)

// acmeConn opens a connection as acme/plant-7 with its valid certificate
// and token: the attacker here is a stolen or compromised edge.
func (h *hostileEnv) acmeConn(t *testing.T) *rawConn {
	t.Helper()
	rc, err := h.acmeConnWith(h.clientTLS(t, "edge.pem", "edge-key.pem"))
	if err != nil {
		t.Error(err)
	}
	return rc
}

func (h *hostileEnv) acmeConnWith(conf *tls.Config) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := h.dial(ctx, conf)
	if err != nil {
		return nil, err
	}
	if err := rc.hello("acme", "plant-7", "acme-p7-token", uint64(time.Now().UnixNano())); err != nil {
		rc.close()
		return nil, err
	}
	return rc, nil
}

// garbageFrames: after a valid HELLO, bytes that are no frame and a BLOCK
// announcing a 4 GiB body close the connection with malformed and
// too_large; the body is never allocated.
func (h *hostileEnv) garbageFrames(t *testing.T) {
	before := h.metric(t, "edgerelay_transport_malformed_frames_total")
	garbage := bytes.Repeat([]byte("\xde\xad\xbe\xef"), 1024)
	oversized := []byte{frameBlock, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1}
	var sent atomic.Int64
	h.during(t, "garbage and oversized frames", func(stop <-chan struct{}) {
		repeat(4, stop, func() {
			rc := h.acmeConn(t)
			if rc == nil {
				return
			}
			defer rc.close()
			send, want := garbage, uint64(codeMalformed)
			if sent.Add(1)%2 == 0 {
				send, want = oversized, codeTooLarge
			}
			rc.str.Write(send)
			if code := rc.closedWith(t); code != want {
				t.Errorf("closed with code %d, want %d", code, want)
			}
		})
	})
	if got := h.metric(t, "edgerelay_transport_malformed_frames_total"); got < before+float64(sent.Load()) {
		t.Fatalf("malformed frames counted %v, want at least %v", got-before, sent.Load())
	}
	t.Logf("%d connections sent garbage or an oversized frame", sent.Load())
	h.nothingWritten(t, "acme")
}

// bombs returns two blocks whose zstd body decompresses to 96 MiB, past
// block.MaxDecodedBytes: one whose frame declares its size, one streamed
// without it.
func bombs(t *testing.T) [][]byte {
	t.Helper()
	zeros := make([]byte, block.MaxDecodedBytes+32<<20)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	declared := enc.EncodeAll(zeros, []byte("ERB\x01\x01"))
	var streamed bytes.Buffer
	streamed.WriteString("ERB\x01\x01")
	w, _ := zstd.NewWriter(&streamed, zstd.WithEncoderLevel(zstd.SpeedFastest))
	for i := 0; i < len(zeros); i += 1 << 20 {
		w.Write(zeros[i : i+1<<20])
	}
	w.Close()
	t.Logf("compression bombs: %d and %d bytes decompressing to %d MiB", len(declared), streamed.Len(), len(zeros)>>20)
	return [][]byte{declared, streamed.Bytes()}
}

// compressionBomb: a block whose body decompresses past MaxDecodedBytes is
// answered NACK and counted corrupt; the cloud never holds the whole of it.
func (h *hostileEnv) compressionBomb(t *testing.T) {
	payloads := bombs(t)
	before := h.metric(t, `edgerelay_cloud_blocks_total{outcome="corrupt"}`)
	var sent atomic.Int64
	var peak atomic.Int64
	h.during(t, "compression bomb", func(stop <-chan struct{}) {
		repeat(1, stop, func() {
			rc := h.acmeConn(t)
			if rc == nil {
				return
			}
			defer rc.close()
			rc.str.Write(blockFrame(1, payloads[sent.Add(1)%2]))
			typ, reason, err := rc.answer()
			if err != nil || typ != frameNack || !strings.Contains(reason, "corrupt block") {
				t.Errorf("answer to a compression bomb: frame %#x %q %v, want NACK of a corrupt block", typ, reason, err)
			}
			if code := rc.closedWith(t); code != codeHandler {
				t.Errorf("closed with code %d, want %d", code, codeHandler)
			}
			if r := int64(rss(h.cloud)); r > peak.Load() {
				peak.Store(r)
			}
		})
	})
	if got := h.metric(t, `edgerelay_cloud_blocks_total{outcome="corrupt"}`); got < before+float64(sent.Load()) {
		t.Fatalf("corrupt blocks counted %v, want at least %v", got-before, sent.Load())
	}
	t.Logf("%d compression bombs sent; cloud RSS peaked at %d MiB", sent.Load(), peak.Load())
	h.nothingWritten(t, "acme")
}

// sendBlock sends blk on a fresh acme connection and returns the answer.
func (h *hostileEnv) sendBlock(t *testing.T, seq uint64, blk *relay.Block) (byte, string) {
	t.Helper()
	rc := h.acmeConn(t)
	if rc == nil {
		t.FailNow()
	}
	defer rc.close()
	rc.str.Write(blockFrame(seq, block.Encode(nil, blk)))
	typ, reason, err := rc.answer()
	if err != nil {
		t.Fatalf("no answer to the block: %v", err)
	}
	return typ, reason
}

func scrapeBatch(job, instance string, series []relay.Series) *relay.Batch {
	return &relay.Batch{Scrape: true, Job: job, Instance: instance, Timestamp: time.Now().UnixMilli(), Series: series}
}

// hostileTargetNames: a job and instance made of "../" are written inside
// the edge's own site directory, under a sanitised name, and nowhere else.
func (h *hostileEnv) hostileTargetNames(t *testing.T) {
	up := 10
	job, instance := strings.Repeat("../", up)+"escape-job", strings.Repeat("../", up)+"escape:1"
	ls := labels.FromStrings("__name__", "up", "job", job, "instance", instance)
	now := time.Now().UnixMilli()
	blk := &relay.Block{Tenant: "acme", Site: "plant-7",
		Batches: []*relay.Batch{scrapeBatch(job, instance, []relay.Series{{Labels: ls, Samples: []relay.Sample{{T: now, V: 1}}}})}}
	h.during(t, "path traversal in job and instance", func(stop <-chan struct{}) {
		if typ, reason := h.sendBlock(t, 1, blk); typ != frameAck {
			t.Errorf("block with hostile job and instance: frame %#x %q, want ACK", typ, reason)
		}
	})
	var inside []string
	filepath.Walk(filepath.Join(h.dir, "files"), func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(info.Name(), "escape") {
			inside = append(inside, path)
		}
		return nil
	})
	site := filepath.Join(h.dir, "files", "acme", "plant-7") + string(filepath.Separator)
	for _, p := range inside {
		if !strings.HasPrefix(p, site) {
			t.Errorf("%s is outside the site's directory %s", p, site)
		}
	}
	if len(inside) == 0 {
		t.Error("the scrape of the hostile target was not written at all")
	}
	for dir := h.dir; dir != "/"; dir = filepath.Dir(dir) {
		if m, _ := filepath.Glob(filepath.Join(dir, "*escape*")); len(m) > 0 {
			t.Errorf("written outside files_dir: %v", m)
		}
	}
}
