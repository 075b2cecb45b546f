package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/edgerelay/edgerelay/plugins/builtin"
	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// Defaults for config.PluginLimits zero values.
const (
	DefaultMemoryPages = 256
	DefaultTimeout     = 100 * time.Millisecond
	// QuarantineAfter consecutive failures take a stage out of service
	// until the chain is reloaded.
	QuarantineAfter = 5
	// maxRequestBytes bounds one request written into a guest; larger
	// batches of new series are split over several calls.
	maxRequestBytes = 1 << 20
	// maxSeriesPerCall keeps one call short enough for the per-call
	// timeout when a big target appears (10k new series at once).
	maxSeriesPerCall = 256
)

// stage is one loaded plugin: its runtime, compiled module and the live
// instance. It is used by one goroutine at a time (the Chain's lock).
type stage struct {
	name       string
	failClosed bool
	trusted    bool // built-in: runs without per-loop deadline checks
	bound      cpuBound
	realClock  bool
	file       *moduleFile // loaded from a file: nil for built-ins
	timeout    time.Duration
	pages      uint32
	config     []byte
	kind       int32

	rt       wazero.Runtime
	compiled wazero.CompiledModule

	mod                              api.Module
	mem                              api.Memory
	fBuffer, fSeries, fSmpl, fStream api.Function

	// A built-in stage written in Go (native) runs without wazero.
	native     native.Stage
	factory    native.Factory
	stream     *streamState // stream stages (abi.KindStream) only
	stack      [2]uint64
	sizeBefore uint32

	stderr      guestLog // the guest's stderr (a Go runtime's fatal error lands here)
	failures    int
	quarantined bool
	m           *stageMetrics
}

// newRuntimeConfig is wazero's default: its compiler where it has one for
// the platform, else its interpreter. Benchmarks set the interpreter.
var newRuntimeConfig = wazero.NewRuntimeConfig

// moduleBytes resolves "builtin:<name>" or a file path; for a file it also
// returns what the file looked like when it was read (for the watcher).
func moduleBytes(module string) (wasm []byte, trusted bool, info os.FileInfo, err error) {
	if name, ok := strings.CutPrefix(module, "builtin:"); ok {
		b, ok := builtin.Lookup(name)
		if !ok {
			if len(builtin.Names()) == 0 {
				return nil, false, nil, fmt.Errorf("no built-in module %q: this binary was built without the built-in modules (build it with make, which runs wasm-examples/build.sh first)", name)
			}
			return nil, false, nil, fmt.Errorf("no built-in module %q (have %s)", name, strings.Join(builtinNames(), ", "))
		}
		return b, true, nil, nil
	}
	f, err := os.Open(module)
	if err != nil {
		return nil, false, nil, fmt.Errorf("read module: %w", err)
	}
	defer f.Close()
	if info, err = f.Stat(); err == nil {
		wasm, err = io.ReadAll(f)
	}
	if err != nil {
		return nil, false, nil, fmt.Errorf("read module %s: %w", module, err)
	}
	return wasm, false, info, nil
}

func newStage(ctx context.Context, pc config.PluginConfig, cache wazero.CompilationCache, bound cpuBound, m *metrics) (*stage, error) {
	s := &stage{
		bound:      bound,
		name:       pc.Name,
		failClosed: pc.OnError == "fail_closed",
		timeout:    pc.Limits.Timeout,
		pages:      pc.Limits.MemoryPages,
	}
	if s.name == "" {
		s.name = pc.Module
	}
	switch pc.OnError {
	case "", "fail_open", "fail_closed":
	default:
		return nil, inField("on_error", fmt.Errorf("on_error must be fail_open or fail_closed; got %q", pc.OnError))
	}
	switch pc.Clock {
	case "", "fake":
	case "real":
		s.realClock = true
	default:
		return nil, inField("clock", fmt.Errorf("clock must be fake or real; got %q", pc.Clock))
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if name, ok := strings.CutPrefix(pc.Module, "builtin:"); ok && nativeStages[name] != nil {
		return newNativeStage(s, pc, nativeStages[name], m)
	}
	if s.pages == 0 {
		s.pages = DefaultMemoryPages
	}
	wasm, trusted, info, err := moduleBytes(pc.Module)
	if err != nil {
		return nil, inField("module", err)
	}
	if info != nil {
		s.file = &moduleFile{path: pc.Module, info: info}
	}
	s.trusted = trusted
	if s.config, err = configJSON(&pc.Config); err != nil {
		return nil, inField("config", err)
	}
	rc := newRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(s.pages).
		WithCloseOnContextDone(!trusted && bound == boundCloseOnDone)
	s.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, s.rt); err != nil {
		s.rt.Close(ctx)
		return nil, fmt.Errorf("instantiate wasi: %w", err)
	}
	if !trusted && bound == boundFuel {
		if wasm, err = instrumentFuel(ctx, s.rt, wasm); err != nil {
			s.rt.Close(ctx)
			return nil, inField("module", err)
		}
	}
	if s.compiled, err = s.rt.CompileModule(ctx, wasm); err != nil {
		s.rt.Close(ctx)
		if min, ok := memoryMinimum(ctx, cache, wasm); ok && min > s.pages {
			return nil, inField("limits.memory_pages", fmt.Errorf("the module's memory starts at %d pages, above the limit of %d", min, s.pages))
		}
		return nil, inField("module", fmt.Errorf("compile module: %w", err))
	}
	s.m = m.forStage(s.name)
	if err := s.instantiate(ctx); err != nil {
		s.rt.Close(ctx)
		return nil, err
	}
	return s, nil
}

// memoryMinimum compiles wasm without a memory limit and returns the
// initial size, in pages, of the memory it defines or imports.
func memoryMinimum(ctx context.Context, cache wazero.CompilationCache, wasm []byte) (uint32, bool) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return 0, false
	}
	for _, m := range cm.ExportedMemories() {
		return m.Min(), true
	}
	for _, m := range cm.ImportedMemories() {
		return m.Min(), true
	}
	return 0, false
}

// instantiate starts a fresh instance and hands it its config. The module
// sees no filesystem, network, environment or arguments, a fake clock
// unless the stage says clock: real, a deterministic random source and no
// real sleep (wazero's defaults), and discards stdio.
func (s *stage) instantiate(ctx context.Context) error {
	s.stderr.reset()
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").WithStderr(&s.stderr)
	if s.realClock {
		mc = mc.WithSysWalltime().WithSysNanotime()
	}
	cctx, cancel := context.WithTimeout(ctx, max(s.timeout, time.Second))
	defer cancel()
	mod, err := s.rt.InstantiateModule(cctx, s.compiled, mc)
	if err != nil {
		return fmt.Errorf("instantiate module: %w", err)
	}
	s.mod, s.mem = mod, mod.Memory()
	fail := func(err error) error { mod.Close(ctx); s.mod = nil; return err }
	if s.mem == nil {
		return fail(errors.New("module exports no memory"))
	}
	for _, name := range []string{"er_abi_version", "er_kind", "er_buffer", "er_init"} {
		if mod.ExportedFunction(name) == nil {
			return fail(fmt.Errorf("module does not export %s (edgerelay ABI v%d)", name, abi.Version))
		}
	}
	r, err := mod.ExportedFunction("er_abi_version").Call(cctx)
	if err != nil || len(r) != 1 || r[0] != abi.Version {
		return fail(fmt.Errorf("module speaks ABI %v (err %v); this host speaks v%d", r, err, abi.Version))
	}
	r, err = mod.ExportedFunction("er_kind").Call(cctx)
	if err != nil || len(r) != 1 {
		return fail(fmt.Errorf("er_kind: %v", err))
	}
	s.kind = int32(r[0])
	s.fBuffer = mod.ExportedFunction("er_buffer")
	switch s.kind {
	case abi.KindSeries:
		s.fSeries = mod.ExportedFunction("er_series")
	case abi.KindSamples:
		s.fSmpl = mod.ExportedFunction("er_samples")
	case abi.KindStream:
		s.fStream = mod.ExportedFunction("er_stream")
	}
	if s.fSeries == nil && s.fSmpl == nil && s.fStream == nil {
		return fail(fmt.Errorf("module of kind %d lacks its er_series/er_samples/er_stream export", s.kind))
	}
	if _, err := s.callFn(cctx, mod.ExportedFunction("er_init"), s.config); err != nil {
		return fail(inField("config", fmt.Errorf("init: %w", err)))
	}
	return nil
}

// call runs fn on req with the stage's deadline and returns the payload of
// the Result (aliasing guest memory: valid until the next call).
func (s *stage) call(ctx context.Context, fn api.Function, req []byte) ([]byte, error) {
	if s.mod == nil {
		return nil, &callError{kind: "restart", err: errors.New("no live instance")}
	}
	if !s.trusted {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	return s.callFn(ctx, fn, req)
}

func (s *stage) callFn(ctx context.Context, fn api.Function, req []byte) ([]byte, error) {
	s.stderr.reset()
	s.sizeBefore = s.mem.Size()
	s.stack[0] = uint64(len(req))
	if err := s.fBuffer.CallWithStack(ctx, s.stack[:]); err != nil {
		return nil, s.classify(ctx, err)
	}
	ptr := uint32(s.stack[0])
	if !s.mem.Write(ptr, req) {
		return nil, &callError{kind: "output", err: fmt.Errorf("er_buffer returned %d, out of memory bounds for %d bytes", ptr, len(req))}
	}
	s.stack[0], s.stack[1] = uint64(ptr), uint64(len(req))
	if err := fn.CallWithStack(ctx, s.stack[:]); err != nil {
		return nil, s.classify(ctx, err)
	}
	rp, rn := abi.UnpackResult(s.stack[0])
	out, ok := s.mem.Read(rp, rn)
	if !ok {
		return nil, &callError{kind: "output", err: fmt.Errorf("result [%d, +%d) is outside guest memory of %d bytes", rp, rn, s.mem.Size())}
	}
	r := abi.NewReader(out)
	if err := r.Status(); err != nil {
		var ge *abi.GuestError
		if errors.As(err, &ge) {
			return nil, &callError{kind: "guest", err: err}
		}
		return nil, &callError{kind: "output", err: err}
	}
	return out[4:], nil
}

// classify names why a call failed: timeout, oom or trap.
func (s *stage) classify(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil || errors.Is(err, errOutOfTime):
		return &callError{kind: "timeout", err: fmt.Errorf("deadline of %s: %w", s.timeout, err)}
	case strings.Contains(s.stderr.String(), "out of memory"):
		return &callError{kind: "oom", err: fmt.Errorf("out of memory under a limit of %d pages: %w", s.pages, err)}
	case s.mem != nil && s.mem.Size() > s.sizeBefore && uint64(s.mem.Size())*4 >= uint64(s.pages)*65536*3:
		// It grew during the call to within a quarter of its cap: a failed
		// memory.grow is what made it give up.
		return &callError{kind: "oom", err: fmt.Errorf("memory at its limit of %d pages: %w", s.pages, err)}
	default:
		if msg := s.stderr.String(); msg != "" {
			err = fmt.Errorf("%w (stderr: %s)", err, msg)
		}
		return &callError{kind: "trap", err: err}
	}
}

// restart closes the instance and starts a new one from the compiled module
// (a built-in Go stage: from its factory). A stream stage's declared series
// and told refs go with the old instance.
func (s *stage) restart(ctx context.Context) error {
	if s.stream != nil {
		s.stream.reset()
	}
	if s.factory != nil {
		n, err := s.factory(s.config)
		if err != nil {
			return err
		}
		s.native = n
		return nil
	}
	if s.mod != nil {
		s.mod.Close(ctx)
		s.mod, s.mem = nil, nil
	}
	return s.instantiate(ctx)
}

func (s *stage) close(ctx context.Context) error {
	if s.rt == nil {
		return nil
	}
	return s.rt.Close(ctx) // closes instances and compiled modules
}

// callError is a failed call with the kind counted in errors_total.
type callError struct {
	kind string // trap, timeout, oom, output, guest, restart
	err  error
}

func (e *callError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }
