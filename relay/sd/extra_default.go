//go:build !full

package sd

// extraMetrics: the default build has no discovery beyond its own.
type extraMetrics struct{}
