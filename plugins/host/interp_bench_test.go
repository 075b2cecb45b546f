package host

import (
	"testing"

	"github.com/tetratelabs/wazero"
)

// BenchmarkChainInterpreter runs BenchmarkChainSteady and
// BenchmarkChainNewSeries with the trusted built-ins on wazero's
// interpreter, which the host gets where wazero has no compiler
// (linux/arm/v7 and every 32-bit platform, amd64 without SSE4.1):
// docs/packaging.md compares the two. Untrusted Go modules are left out:
// on the interpreter their Go runtime does not start within the default
// 100ms deadline.
func BenchmarkChainInterpreter(b *testing.B) {
	modes := benchModes
	newRuntimeConfig, benchModes = wazero.NewRuntimeConfigInterpreter, benchModes[:1]
	defer func() { newRuntimeConfig, benchModes = wazero.NewRuntimeConfig, modes }()
	b.Run("steady", BenchmarkChainSteady)
	b.Run("new-series", BenchmarkChainNewSeries)
}
