package main

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// link is the UDP path between the edge and the cloud: the edge dials the
// link's address and the link relays every datagram to the cloud and back,
// unless it is cut, when it drops them in both directions (a network
// outage, not a refused connection: QUIC sees silence).
type link struct {
	pc    net.PacketConn
	cloud *net.UDPAddr
	cut   atomic.Bool

	mu    sync.Mutex
	peers map[string]*net.UDPConn // edge address -> socket towards the cloud
}

// newLink listens on a free loopback UDP port and relays to cloud.
func newLink(cloud string) (*link, error) {
	ca, err := net.ResolveUDPAddr("udp", cloud)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &link{pc: pc, cloud: ca, peers: map[string]*net.UDPConn{}}
	go l.run()
	return l, nil
}

func (l *link) addr() string { return l.pc.LocalAddr().String() }

func (l *link) run() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := l.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if l.cut.Load() {
			continue
		}
		up, err := l.peer(from)
		if err != nil {
			continue
		}
		up.Write(buf[:n])
	}
}

// peer is the socket towards the cloud for one edge address, made on first use.
func (l *link) peer(from net.Addr) (*net.UDPConn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.peers[from.String()]; c != nil {
		return c, nil
	}
	c, err := net.DialUDP("udp", nil, l.cloud)
	if err != nil {
		return nil, err
	}
	l.peers[from.String()] = c
	go func() { // the cloud's answers, back to the edge
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil { // an ICMP refusal while the cloud is not listening
				continue
			}
			if !l.cut.Load() {
				l.pc.WriteTo(buf[:n], from)
			}
		}
	}()
	return c, nil
}

// close stops relaying.
func (l *link) close() {
	l.pc.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.peers {
		c.Close()
	}
}
