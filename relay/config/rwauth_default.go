//go:build !full

package config

// remoteWriteAuth is empty in the default build: sigv4 is refused by name
// (fullOnlyRemoteWrite).
type remoteWriteAuth struct{}

func (*remoteWriteAuth) configured() []string { return nil }

// fullOnlyRemoteWrite are the cloud.remote_write keys only the full build
// implements: their SDKs would double the default build's size.
var fullOnlyRemoteWrite = []unsupportedKey{
	{path: "sigv4", why: "this build leaves the AWS SDK out to stay small; build with -tags full (docs/packaging.md), or use the HTTP client settings (authorization, basic_auth, oauth2, tls_config)", fullOnly: true},
}
