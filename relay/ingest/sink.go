package ingest

import (
	"context"

	"github.com/edgerelay/edgerelay/relay"
)

// Sink takes a batch and returns only once it is durable in the queue (or an
// error). errors.Is(err, relay.ErrQueueFull) means "cannot keep it now, retry
// later". The sink owns the batch once Submit is called, whatever it returns.
// A Sink must be safe for concurrent use.
type Sink interface {
	Submit(ctx context.Context, b *relay.Batch) error
}
