package edge

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/forward"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/relay/upstreams"
)

// newForwarders builds one forwarder per upstream. The one-upstream form
// (edge.upstream) reads the queue directly, with lanes, and its metrics
// carry no upstream label; edge.upstreams share the queue through package
// upstreams, each forwarder's metrics labelled upstream="<name>".
func (e *Edge) newForwarders() error {
	var err error
	if e.gate, err = upstreams.NewGate(e.cfg.Uplink.Schedule); err != nil {
		return err
	}
	e.upm = upstreams.NewMetrics(e.reg)
	list := e.cfg.UpstreamList()
	if len(e.cfg.Upstreams) == 0 {
		f, err := e.newForwarder("edge.upstream", list[0], e.queue, e.cfg.Queue.ReplayShare, e.reg)
		if err != nil {
			return err
		}
		e.fwds, e.upNames = []*forward.Forwarder{f}, []string{list[0].Name}
		e.com.lanes = f.Lanes()
		return nil
	}
	ups := make([]upstreams.Upstream, len(list))
	for i, u := range list {
		ups[i] = upstreams.Upstream{Name: u.Name, MaxBacklogBytes: int64(u.MaxBacklogBytes)}
	}
	e.ups, err = upstreams.New(e.queue, ups, e.cfg.UpstreamMode == config.ModeFailover, e.newGeneration, e.upm, e.log)
	if err != nil {
		return fmt.Errorf("edge.upstreams: %w", err)
	}
	for i, v := range e.ups.Views() {
		reg := prometheus.WrapRegistererWith(prometheus.Labels{"upstream": v.Name()}, e.reg)
		f, err := e.newForwarder(fmt.Sprintf("edge.upstreams[%d]", i), list[i], v, 1, reg)
		if err != nil {
			return err
		}
		e.fwds = append(e.fwds, f)
		e.upNames = append(e.upNames, v.Name())
	}
	return nil
}

func (e *Edge) newForwarder(field string, up config.UpstreamEntry, q forward.Queue, replayShare float64, reg prometheus.Registerer) (*forward.Forwarder, error) {
	tlsConf, token, err := uplinkCredentials(field, up.Upstream)
	if err != nil {
		return nil, err
	}
	log := e.log
	if len(e.cfg.Upstreams) > 0 {
		log = log.With("upstream_name", up.Name)
	}
	f, err := forward.New(q, forward.Config{
		Client: transport.ClientConfig{
			Addr: up.Address, TLS: tlsConf,
			Hello:         transport.Hello{Tenant: e.cfg.Tenant, Site: e.cfg.Site, Token: token, QueueID: e.queue.ID()},
			MaxBlockBytes: int(e.cfg.Queue.MaxBlockBytes),
			Window:        up.Window,
			Logger:        log,
		},
		Window:      up.Window,
		OnConnect:   func(canResync bool, v int) { e.onConnect(up.Name, canResync, v) },
		OnResync:    e.onResync,
		OnStall:     e.onStall,
		OnRefused:   e.refused.add,
		MaxSendRate: int64(e.cfg.Queue.MaxSendRate),
		ReplayShare: replayShare,
		MinBackoff:  up.MinBackoff,
		MaxBackoff:  up.MaxBackoff,
		Logger:      log,
		Registerer:  reg,
	})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	return f, nil
}

// newGeneration makes the next group commit start a new delta generation:
// after a failover, or after blocks were dropped for one upstream.
func (e *Edge) newGeneration() {
	if e.com.delta != nil {
		e.com.delta.requestCheckpoint()
	}
}

// runUplinks ships until ctx ends (package upstreams runs the forwarders,
// pauses them, fails over).
func (e *Edge) runUplinks(ctx context.Context) error {
	fs := make([]upstreams.Forwarder, len(e.fwds))
	for i, f := range e.fwds {
		fs[i] = f
	}
	return upstreams.Run(ctx, upstreams.RunConfig{
		Set: e.ups, Forwarders: fs, Names: e.upNames, FailoverAfter: e.cfg.FailoverAfter,
		Gate: e.gate, OnSwitch: e.newGeneration, Metrics: e.upm, Logger: e.log,
	})
}

// sent sums the uplinks' bytes written and samples acknowledged.
func (e *Edge) sent() (bytes, samples float64) {
	for _, f := range e.fwds {
		b, s := f.Sent()
		bytes += b
		samples += s
	}
	return bytes, samples
}

// uplinkHandler serves POST /-/uplink/pause and /-/uplink/resume, behind
// the same switch as POST /-/reload (run's --web.enable-lifecycle).
func (e *Edge) uplinkHandler(pause bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost && req.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if e.rel == nil || !e.rel.Lifecycle() {
			http.Error(w, "the lifecycle API is not enabled: start edgerelay run with --web.enable-lifecycle", http.StatusForbidden)
			return
		}
		if pause {
			e.gate.Pause()
			e.log.Info("uplink pause asked for", "by", req.RemoteAddr)
			w.Write([]byte("uplink paused; blocks keep queueing\n"))
			return
		}
		e.gate.Resume(time.Now())
		e.log.Info("uplink resume asked for", "by", req.RemoteAddr)
		w.Write([]byte("uplink resumed\n"))
	})
}
