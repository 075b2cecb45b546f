package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/edgerelay/edgerelay/plugins/host/internal/fuel"
)

// cpuBound is how calls into an untrusted module are stopped at their deadline.
type cpuBound int

const (
	// boundFuel (the default) instruments the module at load time: it
	// counts an upper bound of the instructions it runs and calls the host
	// every fuelAllowance of them; the host traps it once the deadline has
	// passed. Compiled code stays native between those calls.
	boundFuel cpuBound = iota
	// boundCloseOnDone is wazero's WithCloseOnContextDone: the compiled
	// code checks for a closed module at every loop header and function
	// entry. Kept for the benchmarks that compare the two.
	boundCloseOnDone
)

// fuelAllowance is how many instruction units an instrumented module runs
// between two deadline checks. A unit is one simple instruction (host
// calls and bulk memory count more, see internal/fuel), so an allowance
// lasts tens of microseconds of straight code and a few milliseconds of
// pathological cache-missing loads: the stop latency past a deadline. The
// check itself (one host call, time.Now) costs ~0.1 µs.
const fuelAllowance = 1 << 16

// errOutOfTime is the panic of the refill import once the deadline of the
// call has passed; wazero returns it wrapped as the call's error.
var errOutOfTime = errors.New("call ran past its deadline (fuel check)")

// refill is the instrumented module's fuel import: the next allowance, or
// a trap once the call's context is done or past its deadline.
func refill(ctx context.Context, _ api.Module, stack []uint64) {
	if d, ok := ctx.Deadline(); (ok && !time.Now().Before(d)) || ctx.Err() != nil {
		panic(errOutOfTime)
	}
	stack[0] = fuelAllowance
}

// instrumentFuel rewrites wasm for boundFuel and provides the refill import
// in rt.
func instrumentFuel(ctx context.Context, rt wazero.Runtime, wasm []byte) ([]byte, error) {
	out, err := fuel.Instrument(wasm)
	if err != nil {
		return nil, fmt.Errorf("compile module: fuel instrumentation: %w", err)
	}
	_, err = rt.NewHostModuleBuilder(fuel.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(refill), nil, []api.ValueType{api.ValueTypeI64}).
		Export(fuel.ImportName).
		Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("instantiate fuel import: %w", err)
	}
	return out, nil
}
