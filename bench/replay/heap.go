package main

import "runtime/metrics"

// currentHeap is the bytes of live and not yet swept heap objects.
func currentHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
