package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
)

const (
	// DefaultIdleTimeout closes a connection without traffic; keep-alives
	// are sent every third of it.
	DefaultIdleTimeout = 30 * time.Second
	// helloTimeout bounds the wait for the edge's stream and HELLO, and
	// for the server's answer to it.
	helloTimeout = 10 * time.Second
	// dialIdleTimeout ends a connection attempt when the cloud has sent
	// nothing for this long during the QUIC handshake (quic-go's
	// HandshakeIdleTimeout: silence, not the handshake's length, so a slow
	// link that answers is not cut). quic-go resends its first packet at
	// doubling intervals (0.3, 0.6, 1.2, 2.4 s ...); a fresh attempt after
	// 5 s of silence, rather than one more resend 4.8 s later, reaches a
	// link that has come back sooner.
	dialIdleTimeout = 5 * time.Second
	// DefaultMaxConnsPerSite bounds the connections one site may hold
	// open: an edge uses one, a second while an old one times out, so a
	// stolen credential cannot make the cloud hold thousands.
	DefaultMaxConnsPerSite = 16
	// lingerTimeout bounds how long a closing side waits for the peer to
	// read its last frame (ERROR, NACK) and close the connection itself.
	lingerTimeout = 3 * time.Second
	// readBufSize is small on purpose: a cloud holds many idle edges, and
	// block payloads bypass the buffer (read straight into their slice).
	readBufSize = 4 << 10
)

// Hello is what an edge says about itself in its first frame.
type Hello struct {
	Tenant, Site, Token string
	QueueID             uint64
}

// Peer is an authenticated edge, as the Authenticator vouches for it.
type Peer struct {
	Tenant, Site string
	QueueID      uint64
	Remote       net.Addr
	// Version is the protocol version of the connection; Replayed, per
	// lane, that the edge said it sent every block it kept for the lane's
	// delta bases (REPLAYED, version 6; see CanReplay).
	Version  uint16
	Replayed [2]bool
}

// Authenticator decides whether an edge may send. A non-nil error refuses it;
// its text goes back to the edge.
type Authenticator func(h Hello, cs tls.ConnectionState) (Peer, error)

// ServerConfig configures a Server. TLS, Auth and Handle or Group are
// required.
type ServerConfig struct {
	Addr   string // UDP address to listen on, e.g. "127.0.0.1:4433"
	TLS    *tls.Config
	Auth   Authenticator
	Handle Handler
	// Group, when set, takes the blocks instead of Handle, those that
	// arrived back to back together (group.go). Nil: OneByOne(Handle).
	Group GroupHandler
	// Base, when set, takes BASE frames (protocol version 6, replay.go):
	// acknowledged blocks an edge sends again so that their delta frames
	// rebuild the bases; it writes nothing of them. Nil: the server speaks
	// version 5 at most.
	Base Handler
	// MaxBlockBytes bounds a block's payload; 0 means DefaultMaxBlockBytes.
	MaxBlockBytes int
	// Held, when set, names the blocks of an edge's queue the cloud already
	// holds durably (sorted, disjoint; for example imported from a bundle):
	// the WELCOME tells a version 3 edge, which deletes them without
	// sending them again. It is called once per connection, after Auth.
	Held func(p Peer) []Span
	// Redirect, when set, is asked after Auth whether another cloud of a
	// cluster serves p's site: a non-nil answer sends the edge there
	// (REDIRECT, protocol version 5; a refusal naming the cloud for older
	// edges) instead of welcoming it. A Handler may stop a site later the
	// same way, by returning a *RedirectError.
	Redirect func(p Peer) *RedirectError
	// Lanes tells edges (protocol version 3) that they may send a live
	// lane alongside their backlog, so blocks arrive out of sequence order
	// across the two lanes.
	Lanes      bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
	// IdleTimeout closes silent connections; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConnsPerSite bounds the connections one tenant's site may hold
	// open at once; past it a HELLO is refused. 0 means
	// DefaultMaxConnsPerSite.
	MaxConnsPerSite int
	// MaxConnsPerTenant, when set, bounds the connections all sites of a
	// tenant may hold open at once; past it a HELLO is refused. A result
	// <= 0 means no bound beyond MaxConnsPerSite.
	MaxConnsPerTenant func(tenant string) int
	// ResetKey, when set, lets the server answer packets of connections it
	// does not know (those of a previous run) with a QUIC stateless reset,
	// so an edge learns of a restart at once instead of after IdleTimeout.
	// It must stay the same across restarts.
	ResetKey *[32]byte
}

// Server accepts edges over QUIC and hands their blocks to a Handler.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	m        *serverMetrics
	udp      *net.UDPConn
	tr       *quic.Transport
	ln       *quic.Listener
	closeMu  sync.Mutex
	closed   bool
	closeErr error

	sitesMu sync.Mutex
	sites   map[[2]string]int // open connections per tenant and site
	tenants map[string]int    // open connections per tenant
}

// NewServer checks cfg and binds the UDP socket, so Addr works before Run.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.TLS == nil || cfg.Auth == nil || (cfg.Handle == nil && cfg.Group == nil) {
		return nil, errors.New("transport server: TLS, Auth and Handle or Group are required")
	}
	if cfg.Group == nil {
		cfg.Group = OneByOne(cfg.Handle)
	}
	if cfg.MaxBlockBytes < 0 || cfg.MaxBlockBytes > 1<<30 {
		return nil, fmt.Errorf("transport server: max_block_bytes must be in [0, 1GiB]; got %d", cfg.MaxBlockBytes)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("transport server: idle_timeout must be >= 0; got %v", cfg.IdleTimeout)
	}
	if cfg.MaxBlockBytes == 0 {
		cfg.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxConnsPerSite < 0 {
		return nil, fmt.Errorf("transport server: max connections per site must be >= 0; got %d", cfg.MaxConnsPerSite)
	}
	if cfg.MaxConnsPerSite == 0 {
		cfg.MaxConnsPerSite = DefaultMaxConnsPerSite
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newServerMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("transport server: %w", err)
	}
	ua, err := net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("transport server: resolve %q: %w", cfg.Addr, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("transport server: listen %q: %w", cfg.Addr, err)
	}
	tlsConf := cfg.TLS.Clone()
	tlsConf.NextProtos = []string{ALPN}
	tlsConf.MinVersion = tls.VersionTLS13
	// Every ClientHello is counted: a handshake TLS refuses never reaches
	// Accept, so this is where it shows.
	prev := tlsConf.GetConfigForClient
	tlsConf.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		m.handshakes.Inc()
		if prev != nil {
			return prev(hi)
		}
		return nil, nil
	}
	tr := &quic.Transport{Conn: udp}
	if cfg.ResetKey != nil {
		k := quic.StatelessResetKey(*cfg.ResetKey)
		tr.StatelessResetKey = &k
	}
	ln, err := tr.Listen(tlsConf, &quic.Config{
		HandshakeIdleTimeout:  helloTimeout,
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       cfg.IdleTimeout / 3,
		MaxIncomingStreams:    1,
		MaxIncomingUniStreams: -1,
	})
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("transport server: listen %q: %w", cfg.Addr, err)
	}
	return &Server{cfg: cfg, log: log, m: m, udp: udp, tr: tr, ln: ln, sites: map[[2]string]int{}, tenants: map[string]int{}}, nil
}

// admit counts a connection of p's site; when the site already holds
// MaxConnsPerSite or its tenant MaxConnsPerTenant it returns why not.
// Every admitted connection is released when it ends.
func (s *Server) admit(p Peer) (refused string) {
	s.sitesMu.Lock()
	defer s.sitesMu.Unlock()
	k := [2]string{p.Tenant, p.Site}
	if s.sites[k] >= s.cfg.MaxConnsPerSite {
		return fmt.Sprintf("tenant %q site %q already holds %d connections, the most one site may", p.Tenant, p.Site, s.cfg.MaxConnsPerSite)
	}
	if s.cfg.MaxConnsPerTenant != nil {
		if max := s.cfg.MaxConnsPerTenant(p.Tenant); max > 0 && s.tenants[p.Tenant] >= max {
			return fmt.Sprintf("tenant %q already holds %d connections over its sites, the most the tenant may (max_connections)", p.Tenant, max)
		}
	}
	s.sites[k]++
	s.tenants[p.Tenant]++
	return ""
}

func (s *Server) release(p Peer) {
	s.sitesMu.Lock()
	defer s.sitesMu.Unlock()
	k := [2]string{p.Tenant, p.Site}
	if s.sites[k]--; s.sites[k] <= 0 {
		delete(s.sites, k)
	}
	if s.tenants[p.Tenant]--; s.tenants[p.Tenant] <= 0 {
		delete(s.tenants, p.Tenant)
	}
}

// Open returns the number of edges connected and welcomed now.
func (s *Server) Open() int {
	s.sitesMu.Lock()
	defer s.sitesMu.Unlock()
	n := 0
	for _, v := range s.tenants {
		n += v
	}
	return n
}

// Addr is the bound UDP address.
func (s *Server) Addr() net.Addr { return s.udp.LocalAddr() }

// Run serves until ctx is done, then closes every connection (code
// shutdown), waits for their handlers to return, releases the socket and
// returns nil. It returns an error only if accepting fails otherwise.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	s.log.Info("transport listening", "addr", s.Addr().String())
	for {
		qc, err := s.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("transport server: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, qc)
		}()
	}
}

// Close releases the socket. It is idempotent; Run calls it on return.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	err := s.ln.Close()
	if terr := s.tr.Close(); err == nil {
		err = terr
	}
	if uerr := s.udp.Close(); err == nil && !errors.Is(uerr, net.ErrClosed) {
		err = uerr
	}
	s.closeErr = err
	return err
}
