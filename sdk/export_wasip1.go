//go:build wasip1

package sdk

import (
	"runtime"
	"unsafe"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// calls counts exported calls; every gcEvery-th ends with a full garbage
// collection. Without it a module's Go runtime died "out of memory" after
// 290 000–390 000 calls, whatever its memory limit (the heap in use grew
// though the live data did not): nothing between exported calls lets the
// collector finish its cycles, and runtime.GC blocks until one has.
var calls uint64

const gcEvery = 4096

// in is the buffer er_buffer hands the host; out holds the last Result.
var in, out []byte

//go:wasmexport er_abi_version
func erABIVersion() int32 { return abi.Version }

//go:wasmexport er_kind
func erKind() int32 { return kind(&registered) }

//go:wasmexport er_buffer
func erBuffer(size uint32) uint32 {
	if uint32(cap(in)) < size || cap(in) == 0 {
		in = make([]byte, max(size, 4096))
	}
	in = in[:size]
	return ptrOf(in[:1])
}

//go:wasmexport er_init
func erInit(ptr, n uint32) uint64 {
	out = serveInit(&registered, request(ptr, n), out[:0])
	return result()
}

//go:wasmexport er_series
func erSeries(ptr, n uint32) uint64 {
	out = serveSeries(&registered, request(ptr, n), out[:0])
	return result()
}

//go:wasmexport er_samples
func erSamples(ptr, n uint32) uint64 {
	out = serveSamples(&registered, request(ptr, n), out[:0])
	return result()
}

//go:wasmexport er_stream
func erStream(ptr, n uint32) uint64 {
	out = serveStream(&registered, request(ptr, n), out[:0])
	return result()
}

// request returns the n bytes the host wrote at ptr, which must be the
// buffer er_buffer returned.
func request(ptr, n uint32) []byte {
	if cap(in) == 0 || ptr != ptrOf(in[:1]) || int(n) > cap(in) {
		return nil
	}
	return in[:n]
}

func result() uint64 {
	if calls++; calls%gcEvery == 0 {
		runtime.GC()
	}
	if len(out) == 0 {
		out = abi.AppendError(out, "empty result")
	}
	return abi.PackResult(ptrOf(out), uint32(len(out)))
}

func ptrOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
