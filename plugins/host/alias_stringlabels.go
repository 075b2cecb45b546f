//go:build !slicelabels && !dedupelabels

package host

import "unsafe"

// guestString views bytes in guest memory as a string without copying. It
// is safe only because, with Prometheus' default stringlabels, ScratchBuilder
// copies every name and value into the Labels it builds, before the guest
// can run again and change those bytes.
func guestString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
