package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// Raw QUIC clients for the hostile suite: they speak the wire format of
// relay/transport/PROTOCOL.md by hand, so they can send what no edge does.

const (
	frameHello   = 0x01
	frameWelcome = 0x02
	frameError   = 0x03
	frameBlock   = 0x04
	frameAck     = 0x05
	frameNack    = 0x06

	codeRefused   = 0x1
	codeMalformed = 0x3
	codeTooLarge  = 0x4
	codeHandler   = 0x5
)

// clientTLS is a TLS config trusting the cloud's CA, presenting the pair
// certFile/keyFile of tlsDir when certFile is set.
func (h *hostileEnv) clientTLS(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(h.tlsDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conf := &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"edgerelay/1"}}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(h.tlsDir, certFile), filepath.Join(h.tlsDir, keyFile))
		if err != nil {
			t.Fatal(err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf
}

// rawConn is one hand-driven connection to the cloud.
type rawConn struct {
	qc  *quic.Conn
	str *quic.Stream
	br  *bufio.Reader
}

func (h *hostileEnv) dial(ctx context.Context, conf *tls.Config) (*rawConn, error) {
	qc, err := quic.DialAddr(ctx, h.quic, conf, &quic.Config{
		HandshakeIdleTimeout: 10 * time.Second, MaxIdleTimeout: time.Minute, KeepAlivePeriod: 10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	str, err := qc.OpenStreamSync(ctx)
	if err != nil {
		qc.CloseWithError(0, "")
		return nil, err
	}
	return &rawConn{qc: qc, str: str, br: bufio.NewReader(str)}, nil
}

func (c *rawConn) close() { c.qc.CloseWithError(0, "") }

func wireFrame(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)))
	return append(b, body...)
}

func helloFrame(tenant, site, token string, queueID uint64) []byte {
	b := binary.BigEndian.AppendUint16(nil, 3)
	b = binary.BigEndian.AppendUint64(b, queueID)
	for _, s := range []string{tenant, site, token} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return wireFrame(frameHello, b)
}

func blockFrame(seq uint64, payload []byte) []byte {
	return wireFrame(frameBlock, append(binary.BigEndian.AppendUint64(nil, seq), payload...))
}

// read reads one frame: its type and body.
func (c *rawConn) read() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	_, err := io.ReadFull(c.br, body)
	return hdr[0], body, err
}

// hello sends HELLO and reads the answer: nil for WELCOME, else an error
// holding the ERROR frame's code and reason.
func (c *rawConn) hello(tenant, site, token string, queueID uint64) error {
	c.str.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.str.SetDeadline(time.Time{})
	if _, err := c.str.Write(helloFrame(tenant, site, token, queueID)); err != nil {
		return err
	}
	typ, body, err := c.read()
	switch {
	case err != nil:
		return err
	case typ == frameWelcome:
		return nil
	case typ == frameError && len(body) >= 4:
		return fmt.Errorf("ERROR code %d: %s", binary.BigEndian.Uint16(body), body[4:])
	}
	return fmt.Errorf("answer to HELLO is frame type %#x", typ)
}

// closedWith waits for the cloud to close the connection and returns the
// QUIC application error code it used.
func (c *rawConn) closedWith(t *testing.T) uint64 {
	t.Helper()
	select {
	case <-c.qc.Context().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the cloud did not close the connection")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(c.qc.Context()); errors.As(err, &ae) && ae.Remote {
		return uint64(ae.ErrorCode)
	}
	t.Fatalf("connection ended by %v, not by the cloud", context.Cause(c.qc.Context()))
	return 0
}

// answer reads the cloud's answer to a block: ACK or NACK with its reason.
func (c *rawConn) answer() (typ byte, reason string, err error) {
	c.str.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.str.SetReadDeadline(time.Time{})
	typ, body, err := c.read()
	if err == nil && typ == frameNack && len(body) >= 10 {
		reason = string(body[10:])
	}
	return typ, reason, err
}

// repeat runs f from n goroutines until stop is closed, returning how many
// times it ran.
func repeat(n int, stop <-chan struct{}, f func()) int {
	counts := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			c := 0
			for {
				select {
				case <-stop:
					counts <- c
					return
				default:
				}
				f()
				c++
			}
		}()
	}
	total := 0
	for i := 0; i < n; i++ {
		total += <-counts
	}
	return total
}
