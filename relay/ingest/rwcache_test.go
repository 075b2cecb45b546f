package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestRemoteWriteSeriesCache decodes requests through one series cache as
// a sender sends them, request after request, with label sets the cache
// must not take (unsorted, an empty value, a label after the samples, a
// label longer than 127 bytes), a planted hash collision and the cache's
// generations turning over: every decoded batch must equal the reference
// decoder's, and the cache must hold only what it may.
func TestRemoteWriteSeriesCache(t *testing.T) {
	long := string(bytes.Repeat([]byte{'x'}, 200))
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		v1Series([]prompb.Sample{{Value: 1, Timestamp: 10}}, "__name__", "up", "instance", "a:1", "job", "node"),
		v1Series([]prompb.Sample{{Value: 2, Timestamp: 10}}, "__name__", "up", "job", "node", "instance", "b:1"),
		v1Series([]prompb.Sample{{Value: 3, Timestamp: 10}}, "__name__", "up", "empty", "", "job", "node"),
		v1Series([]prompb.Sample{{Value: 4, Timestamp: 10}}, "__name__", "up", "job", long),
		v1Series([]prompb.Sample{{Value: 5, Timestamp: 10}, {Value: 6, Timestamp: 9}}, "__name__", "up", "job", "x"),
	}}
	raw := marshalV1(t, req)
	// A series whose labels continue after its sample: its label set is
	// not the labels it starts with.
	ts := marshalTS(t, v1Series([]prompb.Sample{{Value: 7, Timestamp: 10}}, "__name__", "up", "job", "late"))
	ts = protowire.AppendTag(ts, fSeriesLabels, protowire.BytesType)
	ts = protowire.AppendBytes(ts, marshalLabel(t, "zone", "z1"))
	raw = protowire.AppendTag(raw, fWriteTimeseries, protowire.BytesType)
	raw = protowire.AppendBytes(raw, ts)

	now := time.Unix(1000, 0)
	cache := newRWSeriesCache(func() time.Time { return now })
	decode := func() {
		t.Helper()
		scratch := bytes.Clone(raw)
		b, stats, err := decodeCached(scratch, rwV1, 1, cache)
		for i := range scratch {
			scratch[i] = 0xa5 // the batch must not alias the body
		}
		if err != nil {
			t.Fatal(err)
		}
		compareWithReference(t, raw, b, stats, nil)
	}
	decode()
	// Cached: the first series, the sorted one with a sample out of order;
	// not the unsorted one, the empty value, the long label, the late label.
	if len(cache.cur) != 2 {
		t.Fatalf("cache holds %d series after the first request, want 2: %v", len(cache.cur), cache.cur)
	}
	decode()
	decode()

	// A collision: another label set under a series' key is a miss.
	for k := range cache.cur {
		cache.cur[k] = labels.FromStrings("__name__", "wrong", "job", "node")
	}
	decode()

	// Generations: a series seen in the old one moves to the current one;
	// one not seen for two generations is forgotten.
	now = now.Add(rwCacheAge)
	cache.add([]cacheMiss{{1, labels.FromStrings("__name__", "other")}}, nil)
	if len(cache.cur) != 1 || len(cache.old) != 2 {
		t.Fatalf("after turning over: %d current, %d old, want 1 and 2", len(cache.cur), len(cache.old))
	}
	decode()
	if len(cache.cur) != 3 {
		t.Fatalf("after a request: %d current, want 3 (the other and the two promoted)", len(cache.cur))
	}
	now = now.Add(rwCacheAge)
	cache.add([]cacheMiss{{2, labels.FromStrings("__name__", "another")}}, nil)
	now = now.Add(rwCacheAge)
	cache.add([]cacheMiss{{3, labels.FromStrings("__name__", "third")}}, nil)
	if _, ok := cache.old[1]; ok || len(cache.cur)+len(cache.old) != 2 {
		t.Fatalf("series kept past two generations: %v %v", cache.cur, cache.old)
	}
	decode()
}

func marshalTS(t *testing.T, ts prompb.TimeSeries) []byte {
	t.Helper()
	b, err := ts.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalLabel(t *testing.T, name, value string) []byte {
	t.Helper()
	l := prompb.Label{Name: name, Value: value}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
