//go:build full

package config

import "github.com/prometheus/sigv4"

// remoteWriteAuth is the full build's sigv4: AWS Signature Version 4
// signing of every request (Amazon Managed Service for Prometheus).
type remoteWriteAuth struct {
	SigV4Config *sigv4.SigV4Config `yaml:"sigv4,omitempty"`
}

func (a *remoteWriteAuth) configured() []string {
	if a.SigV4Config != nil {
		return []string{"sigv4"}
	}
	return nil
}

// fullOnlyRemoteWrite is empty in the full build: it signs with sigv4.
var fullOnlyRemoteWrite []unsupportedKey
