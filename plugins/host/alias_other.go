//go:build slicelabels || dedupelabels

package host

// guestString copies: with these label implementations Labels keep the
// strings they are given, which must not alias guest memory.
func guestString(b []byte) string { return string(b) }
