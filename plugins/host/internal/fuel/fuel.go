// Package fuel rewrites a WebAssembly module so that it counts what it runs
// and hands control to the host at regular intervals: load-time fuel
// instrumentation, the CPU bound plugins/host applies to untrusted modules.
//
// The rewritten module has one more mutable i64 global, the fuel counter,
// and one more imported function, ImportModule.ImportName, of type
// () -> i64. Function bodies are cut into segments at function entry, loop
// headers, loop ends and call returns; at the start of each segment the
// counter is decremented by the segment's instruction count (the
// instructions up to the next cut, an upper bound of what runs straight on
// from there). When the counter goes below zero the module calls the
// import, which either returns the next allowance or traps (the host
// panics when the call's deadline has passed). Control cannot go back
// without passing a loop header, nor return without passing a call return,
// so between two calls to the import the module runs at most one allowance
// plus one function body of instructions, whatever its control flow.
//
// Instrument is a pure function, safe for concurrent use. It never panics on
// malformed input: it returns an error, and a module it accepts is still
// validated by the runtime that compiles it.
package fuel

import (
	"errors"
	"fmt"
)

// The import the instrumented module calls when its fuel runs out.
const (
	ImportModule = "edgerelay_fuel"
	ImportName   = "refill"
)

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secLastKnown = 13
)

// order ranks the known sections in the order the binary format requires.
var order = [...]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id      byte
	payload []byte
}

// Instrument returns wasm with fuel charges inserted (see the package comment).
func Instrument(wasm []byte) ([]byte, error) {
	r := &reader{b: wasm}
	if hdr := r.bytes(8); r.err != nil || string(hdr) != "\x00asm\x01\x00\x00\x00" {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	var secs []section
	seen := map[byte]bool{}
	for !r.done() {
		id := r.byte()
		payload := r.name()
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id > secLastKnown || (id != secCustom && order[id] == 0) {
			return nil, fmt.Errorf("unknown section id %d", id)
		}
		if id != secCustom {
			if seen[id] {
				return nil, fmt.Errorf("duplicate section %d", id)
			}
			seen[id] = true
		}
		secs = append(secs, section{id, payload})
	}
	m := &module{}
	for _, s := range secs { // the counts the rewrite depends on
		var err error
		switch s.id {
		case secType:
			m.types, err = count(s.payload)
		case secImport:
			err = m.scanImports(s.payload)
		case secGlobal:
			m.globals, err = count(s.payload)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	w := &walker{importedFuncs: m.importedFuncs, fuelGlobal: m.importedGlobals + m.globals, refillFunc: m.importedFuncs}
	for _, id := range []byte{secType, secImport, secGlobal} {
		if !seen[id] {
			secs = insertSection(secs, section{id: id, payload: []byte{0}})
		}
	}
	out := append([]byte(nil), wasm[:8]...)
	for _, s := range secs {
		p, err := m.rewrite(w, s)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		if p == nil { // dropped
			continue
		}
		out = append(out, s.id)
		out = appendULEB(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out, nil
}

// module holds the counts of what the rewrite adds to.
type module struct {
	types, globals                 uint32
	importedFuncs, importedGlobals uint32
}

func count(p []byte) (uint32, error) {
	r := &reader{b: p}
	n := r.u32()
	return n, r.err
}

func (m *module) scanImports(p []byte) error {
	r := &reader{b: p}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		mod := r.name()
		r.name()
		if string(mod) == ImportModule {
			return fmt.Errorf("module imports from %q, which the host reserves", ImportModule)
		}
		switch kind := r.byte(); kind {
		case 0: // function
			r.u32()
			m.importedFuncs++
		case 1: // table
			r.byte()
			r.limits()
		case 2: // memory
			r.limits()
		case 3: // global
			r.byte()
			r.byte()
			m.importedGlobals++
		case 4: // tag
			r.byte()
			r.u32()
		default:
			r.fail(fmt.Errorf("unknown import kind %d", kind))
		}
		if r.err != nil {
			return r.err
		}
	}
	return r.err
}

func (r *reader) limits() {
	flags := r.byte()
	r.uleb(64)
	if flags&1 != 0 {
		r.uleb(64)
	}
}

// insertSection puts s before the first known section that must follow it.
func insertSection(secs []section, s section) []section {
	for i, o := range secs {
		if o.id != secCustom && order[o.id] > order[s.id] {
			return append(secs[:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

// rewrite returns the new payload of s, or nil to drop it.
func (m *module) rewrite(w *walker, s section) ([]byte, error) {
	r := &reader{b: s.payload}
	var out []byte
	switch s.id {
	case secType: // add () -> i64
		n := r.u32()
		out = appendULEB(out, uint64(n)+1)
		out = append(out, r.b[r.pos:]...)
		out = append(out, 0x60, 0x00, 0x01, 0x7e)
		r.pos = len(r.b)
	case secImport: // add the refill function
		n := r.u32()
		out = appendULEB(out, uint64(n)+1)
		out = append(out, r.b[r.pos:]...)
		out = appendName(out, ImportModule)
		out = appendName(out, ImportName)
		out = append(out, 0x00)
		out = appendULEB(out, uint64(m.types))
		r.pos = len(r.b)
	case secGlobal: // rewrite init expressions, add the counter (mut i64 = 0)
		n := r.u32()
		out = appendULEB(out, uint64(n)+1)
		for i := uint32(0); i < n && r.err == nil; i++ {
			out = append(out, r.byte(), r.byte()) // type, mutability
			out = w.constExpr(r, out)
		}
		out = append(out, 0x7e, 0x01, 0x42, 0x00, 0x0b)
	case secExport:
		n := r.u32()
		out = appendULEB(out, uint64(n))
		for i := uint32(0); i < n && r.err == nil; i++ {
			name := r.name()
			kind := r.byte()
			idx := r.u32()
			if kind == 0 {
				idx = w.remap(idx)
			}
			out = appendULEB(out, uint64(len(name)))
			out = append(out, name...)
			out = append(out, kind)
			out = appendULEB(out, uint64(idx))
		}
	case secStart:
		out = appendULEB(out, uint64(w.remap(r.u32())))
	case secElement:
		out = m.elements(w, r)
	case secCode:
		n := r.u32()
		out = appendULEB(out, uint64(n))
		var body []byte
		for i := uint32(0); i < n && r.err == nil; i++ {
			size := r.u32()
			b := r.bytes(uint64(size))
			if r.err != nil {
				break
			}
			br := &reader{b: b}
			body = w.body(br, body[:0])
			if br.err == nil && br.pos != len(b) {
				br.fail(fmt.Errorf("%d bytes after the end of a function body", len(b)-br.pos))
			}
			if br.err != nil {
				return nil, fmt.Errorf("function body: %w", br.err)
			}
			out = appendULEB(out, uint64(len(body)))
			out = append(out, body...)
		}
	case secCustom:
		return customSection(w, s.payload), nil
	default:
		return s.payload, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.pos != len(r.b) {
		return nil, fmt.Errorf("%d bytes after the section's contents", len(r.b)-r.pos)
	}
	return out, nil
}

// elements rewrites the function indices of the element segments.
func (m *module) elements(w *walker, r *reader) []byte {
	n := r.u32()
	out := appendULEB(nil, uint64(n))
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = appendULEB(out, uint64(flags))
		if flags > 7 {
			r.fail(fmt.Errorf("unknown element segment kind %d", flags))
			return out
		}
		if flags&3 == 2 { // explicit table index
			out = appendULEB(out, uint64(r.u32()))
		}
		if flags&1 == 0 { // active: offset expression
			out = w.constExpr(r, out)
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		k := r.u32()
		out = appendULEB(out, uint64(k))
		for i := uint32(0); i < k && r.err == nil; i++ {
			if flags&4 != 0 {
				out = w.constExpr(r, out)
			} else {
				out = appendULEB(out, uint64(w.remap(r.u32())))
			}
		}
	}
	return out
}

// customSection keeps custom sections as they are, except "name", whose
// function indices move: the module name and function names are kept,
// the rest dropped (and the whole section if it does not parse).
func customSection(w *walker, p []byte) []byte {
	r := &reader{b: p}
	name := r.name()
	if r.err != nil || string(name) != "name" {
		return p
	}
	out := append([]byte(nil), p[:r.pos]...)
	for !r.done() {
		id := r.byte()
		sub := r.name()
		if r.err != nil {
			return nil
		}
		switch id {
		case 0:
			out = append(out, id)
			out = appendULEB(out, uint64(len(sub)))
			out = append(out, sub...)
		case 1:
			sr := &reader{b: sub}
			n := sr.u32()
			s := appendULEB(nil, uint64(n))
			for i := uint32(0); i < n && sr.err == nil; i++ {
				s = appendULEB(s, uint64(w.remap(sr.u32())))
				fn := sr.name()
				s = appendULEB(s, uint64(len(fn)))
				s = append(s, fn...)
			}
			if sr.err != nil || sr.pos != len(sub) {
				return nil
			}
			out = append(out, id)
			out = appendULEB(out, uint64(len(s)))
			out = append(out, s...)
		}
	}
	return out
}
