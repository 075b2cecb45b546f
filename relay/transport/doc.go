// Package transport is edgerelay's relay-to-relay protocol over QUIC: an
// edge (Dial, Conn) streams numbered blocks from its queue to a cloud relay
// (NewServer, Server), which hands each block, in order, to a Handler and
// acknowledges it once the handler has made it durable: a Handler returns
// (Ack, error), and ack.go is where an answer is decided and read. It is
// the only package that imports quic-go; the wire format is specified in
// PROTOCOL.md beside this file.
//
// In short: TLS 1.3 with ALPN "edgerelay/1"; the edge opens one
// bidirectional stream and sends HELLO {version, tenant, site, token,
// queue_id}; the server answers WELCOME {version, max block bytes} or ERROR
// {code, reason} and closes. Then the edge pipelines BLOCK {seq, payload}
// frames, up to a window of unacknowledged ones, and the server answers each,
// in order, with ACK {seq} or NACK {seq, reason}; after a NACK it takes no
// further block on that connection and closes it. Blocks that arrived back
// to back reach the cloud's GroupHandler together (group.go). Frames are bounded; a
// malformed one closes the connection with a QUIC application error code.
//
// Concurrency: a Server runs one goroutine per connection and calls its
// Handler or GroupHandler sequentially per connection (concurrently across
// connections).
// A Conn's Send may be called from several goroutines, Acks is drained by
// one; Close is idempotent.
package transport
