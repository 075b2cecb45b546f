//go:build full

package config

// sigv4Refusal is empty: the full build signs with sigv4.
const sigv4Refusal = ""
