package member

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/relay"
)

// etcd speaks to etcd's v3 JSON gateway.
type etcd struct {
	cfg  EtcdConfig
	hc   *http.Client
	key  []byte     // prefix + self id
	val  []byte     // self as JSON
	umu  sync.Mutex // serializes the live set's updates (keeper, watcher)
	emu  sync.Mutex // guards next
	next int        // the endpoint to try first
}

func joinEtcd(ctx context.Context, s *Set, cfg EtcdConfig) (*Set, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("member: etcd endpoints are required")
	}
	if cfg.Prefix == "" {
		return nil, errors.New("member: etcd prefix is required")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < 2*time.Second {
		return nil, fmt.Errorf("member: etcd ttl must be at least 2s; got %v", cfg.TTL)
	}
	for i, ep := range cfg.Endpoints {
		cfg.Endpoints[i] = strings.TrimRight(ep, "/")
	}
	val, err := json.Marshal(s.self)
	if err != nil {
		return nil, err
	}
	e := &etcd{cfg: cfg, hc: cfg.Client, key: []byte(cfg.Prefix + s.self.ID), val: val}
	if e.hc == nil {
		e.hc = &http.Client{}
	}
	lease, sent, err := e.grantPut(ctx)
	if err != nil {
		return nil, fmt.Errorf("member: join %s: %w", cfg.Prefix, err)
	}
	rev, members, err := e.rangePrefix(ctx)
	if err != nil {
		e.revoke(lease)
		return nil, fmt.Errorf("member: join %s: %w", cfg.Prefix, err)
	}
	s.update(sorted(members), false)
	run, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(2)
	k := &keeper{e: e, s: s, lease: lease, lastOK: sent}
	go func() { defer wg.Done(); k.run(run) }()
	go func() { defer wg.Done(); e.watchLoop(run, s, rev, members) }()
	go func() { wg.Wait(); close(s.done) }()
	s.leave = func() { e.revoke(k.lease) }
	return s, nil
}

// keeper renews self's lease, writes its key again under a new lease when
// the old one expired, and fences self when it could not renew for a TTL.
type keeper struct {
	e      *etcd
	s      *Set
	lease  int64
	lastOK time.Time // when the last successful renewal was sent
}

func (k *keeper) run(ctx context.Context) {
	ttl := k.e.cfg.TTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, ttl/3)
		sent := time.Now()
		alive, err := k.e.keepAlive(rctx, k.lease)
		if err == nil && !alive {
			// Expired (etcd unreachable for a TTL, or this process
			// stalled): join again under a new lease.
			var lease int64
			if lease, sent, err = k.e.grantPut(rctx); err == nil {
				k.s.log.Warn("group lease had expired; joined again", "prefix", k.e.cfg.Prefix)
				k.lease = lease
			}
		}
		cancel()
		if err == nil {
			k.lastOK = sent
		} else if ctx.Err() == nil {
			k.s.log.Warn("group lease not renewed", "prefix", k.e.cfg.Prefix, "err", err)
		}
		fenced := time.Since(k.lastOK) >= ttl
		k.e.umu.Lock()
		if seen, was := k.s.state(); was != fenced {
			k.s.update(seen, fenced)
		}
		k.e.umu.Unlock()
	}
}

// watchLoop keeps the live set: it watches the prefix from rev, and reads
// it again after a broken watch (or every watchMax, in case a watch stalls
// without breaking).
func (e *etcd) watchLoop(ctx context.Context, s *Set, rev int64, members map[string]Member) {
	watchMax := max(3*e.cfg.TTL, 30*time.Second)
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, watchMax)
		err := e.watch(wctx, rev+1, func(evs []event, r int64) {
			for _, ev := range evs {
				id := strings.TrimPrefix(string(ev.KV.Key), e.cfg.Prefix)
				if ev.Type == "DELETE" {
					delete(members, id)
				} else if m, ok := decodeMember(ev.KV.Value, id); ok {
					members[id] = m
				}
			}
			rev = max(rev, r)
			e.umu.Lock()
			_, fenced := s.state()
			s.update(sorted(members), fenced)
			e.umu.Unlock()
		})
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("group watch broke; reading the group again", "prefix", e.cfg.Prefix, "err", err)
			if !relay.Sleep(ctx, min(time.Second, e.cfg.TTL/3)) {
				return
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, e.cfg.TTL/3)
		r, ms, err := e.rangePrefix(rctx)
		rcancel()
		if err != nil {
			continue
		}
		rev, members = r, ms
		e.umu.Lock()
		_, fenced := s.state()
		s.update(sorted(members), fenced)
		e.umu.Unlock()
	}
}

// grantPut takes a new lease and writes self's key under it; sent is when
// the grant was asked for (the lease expires no earlier than sent + TTL).
func (e *etcd) grantPut(ctx context.Context) (lease int64, sent time.Time, err error) {
	sent = time.Now()
	var g struct {
		ID  i64    `json:"ID"`
		TTL i64    `json:"TTL"`
		Err string `json:"error"`
	}
	ttl := int64((e.cfg.TTL + time.Second - 1) / time.Second)
	if err := e.post(ctx, "/v3/lease/grant", map[string]any{"TTL": ttl}, &g); err != nil {
		return 0, sent, fmt.Errorf("lease grant: %w", err)
	}
	if g.ID == 0 {
		return 0, sent, fmt.Errorf("lease grant: no lease in answer (%s)", g.Err)
	}
	put := map[string]any{"key": e.key, "value": e.val, "lease": strconv.FormatInt(int64(g.ID), 10)}
	if err := e.post(ctx, "/v3/kv/put", put, nil); err != nil {
		e.revoke(int64(g.ID))
		return 0, sent, fmt.Errorf("put %s: %w", e.key, err)
	}
	return int64(g.ID), sent, nil
}

// keepAlive renews lease once; alive is false when etcd no longer has it.
func (e *etcd) keepAlive(ctx context.Context, lease int64) (alive bool, err error) {
	var r struct {
		Result struct {
			TTL i64 `json:"TTL"`
		} `json:"result"`
	}
	if err := e.post(ctx, "/v3/lease/keepalive", map[string]any{"ID": strconv.FormatInt(lease, 10)}, &r); err != nil {
		return false, fmt.Errorf("lease keepalive: %w", err)
	}
	return r.Result.TTL > 0, nil
}

// revoke ends lease now, so the others drop this member at once; best
// effort (the lease expires by itself otherwise).
func (e *etcd) revoke(lease int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.post(ctx, "/v3/lease/revoke", map[string]any{"ID": strconv.FormatInt(lease, 10)}, nil)
}

type keyValue struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

type event struct {
	Type string   `json:"type"` // "" for PUT
	KV   keyValue `json:"kv"`
}

type header struct {
	Revision i64 `json:"revision"`
}

// rangePrefix reads every member under the prefix and the revision read.
func (e *etcd) rangePrefix(ctx context.Context) (int64, map[string]Member, error) {
	var r struct {
		Header header     `json:"header"`
		KVs    []keyValue `json:"kvs"`
	}
	req := map[string]any{"key": []byte(e.cfg.Prefix), "range_end": prefixEnd(e.cfg.Prefix)}
	if err := e.post(ctx, "/v3/kv/range", req, &r); err != nil {
		return 0, nil, fmt.Errorf("range %s: %w", e.cfg.Prefix, err)
	}
	ms := make(map[string]Member, len(r.KVs))
	for _, kv := range r.KVs {
		id := strings.TrimPrefix(string(kv.Key), e.cfg.Prefix)
		if m, ok := decodeMember(kv.Value, id); ok {
			ms[id] = m
		}
	}
	return int64(r.Header.Revision), ms, nil
}

// watch streams the prefix's changes from revision from to fn until ctx
// ends or the stream breaks.
func (e *etcd) watch(ctx context.Context, from int64, fn func([]event, int64)) error {
	req := map[string]any{"create_request": map[string]any{
		"key": []byte(e.cfg.Prefix), "range_end": prefixEnd(e.cfg.Prefix), "start_revision": strconv.FormatInt(from, 10)}}
	body, err := e.open(ctx, "/v3/watch", req)
	if err != nil {
		return fmt.Errorf("watch %s: %w", e.cfg.Prefix, err)
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var msg struct {
			Result struct {
				Header   header  `json:"header"`
				Canceled bool    `json:"canceled"`
				Compact  i64     `json:"compact_revision"`
				Events   []event `json:"events"`
			} `json:"result"`
			Error json.RawMessage `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watch %s: %w", e.cfg.Prefix, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("watch %s: %s", e.cfg.Prefix, msg.Error)
		}
		if msg.Result.Canceled {
			return fmt.Errorf("watch %s canceled (compacted at %d)", e.cfg.Prefix, msg.Result.Compact)
		}
		if len(msg.Result.Events) > 0 {
			fn(msg.Result.Events, int64(msg.Result.Header.Revision))
		}
	}
}

// post sends one request and decodes its answer into out (nil: drained).
func (e *etcd) post(ctx context.Context, path string, in, out any) error {
	body, err := e.open(ctx, path, in)
	if err != nil {
		return err
	}
	defer body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
		return err
	}
	return json.NewDecoder(io.LimitReader(body, 16<<20)).Decode(out)
}

// open sends a request to the first endpoint that answers 200.
func (e *etcd) open(ctx context.Context, path string, in any) (io.ReadCloser, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var errs []error
	n := len(e.cfg.Endpoints)
	e.emu.Lock()
	first := e.next
	e.emu.Unlock()
	for i := range n {
		idx := (first + i) % n
		ep := e.cfg.Endpoints[idx]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.hc.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			err = fmt.Errorf("%s: %s: %s", ep+path, resp.Status, bytes.TrimSpace(msg))
		}
		if err == nil {
			e.emu.Lock()
			e.next = idx
			e.emu.Unlock()
			return resp.Body, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func decodeMember(v []byte, id string) (Member, bool) {
	var m Member
	if json.Unmarshal(v, &m) != nil || m.ID != id {
		return Member{}, false
	}
	return m, true
}

// prefixEnd is the end of the key range of every key starting with p.
func prefixEnd(p string) []byte {
	end := []byte(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

func sorted(ms map[string]Member) []Member {
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, m)
	}
	sortMembers(out)
	return out
}

// i64 is an int64 that etcd's gateway writes as a JSON string.
type i64 int64

func (v *i64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*v = i64(n)
	return err
}
