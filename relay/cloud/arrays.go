package cloud

import (
	"sync"

	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// The series and float samples of a rebuilt scrape live in arrays reused
// for later scrapes (of any site) once the block that carried them is
// done: apply gives them back after every output took the block and was
// told it is committed, unless a Committer kept the Delivery (the stream
// hub, while it has subscribers). Outputs read a Delivery only while their
// Deliver or Committed runs (package output). A pool the collector empties
// when it goes unused: a large site's arrays are not kept for good.
var batchArrays = sync.Pool{New: func() any { return new(deltaconv.Arrays) }}

// putArrays gives back the arrays of a block's rebuilt batches.
func putArrays(as []*deltaconv.Arrays) {
	for _, a := range as {
		batchArrays.Put(a)
	}
}
