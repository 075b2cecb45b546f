package relay

import "errors"

// Sentinel errors that parts of edgerelay decide on with errors.Is.
var (
	// ErrQueueFull is returned when a batch cannot be made durable because
	// the queue cannot take it (disk full, I/O error); remote_write
	// answers 503 so the sender retries.
	ErrQueueFull = errors.New("queue cannot take the batch")
	// ErrClosed is returned by parts used after Close.
	ErrClosed = errors.New("closed")
)
