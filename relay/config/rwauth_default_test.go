//go:build !full

package config

// sigv4Refusal is how the default build refuses sigv4.
const sigv4Refusal = "cloud.remote_write[0].sigv4 needs edgerelay's full build"
