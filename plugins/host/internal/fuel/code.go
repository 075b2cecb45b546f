package fuel

import "fmt"

// Instruction weights: what the fuel counter is charged per instruction.
// Most instructions cost 1. Calls to imported (host) functions and the
// instructions whose run time grows with an operand (memory.grow, bulk
// memory and table operations) cost more, so that a loop of them still
// returns to the host often enough.
const (
	weightHostCall = 1 << 10
	weightBulk     = 1 << 12
)

// edit is one change to a function body: insert the fuel charge of segment
// region at pos (pos == end), or replace the function index in [pos, end) with idx.
type edit struct {
	pos, end int
	region   int32 // >= 0: insert a charge; < 0: replace a function index
	idx      uint32
}

// frame is an open block, loop or if.
type frame struct{ loop bool }

// walker rewrites expressions: function bodies (with fuel charges) and
// constant expressions (function indices only).
type walker struct {
	importedFuncs uint32 // function indices below this are imports and do not move
	fuelGlobal    uint32
	refillFunc    uint32

	edits   []edit
	weights []int64 // per segment (region of an edit): instructions from its charge to the next
	stack   []frame
}

// remap gives a function index its place after the refill import is added.
func (w *walker) remap(idx uint32) uint32 {
	if idx >= w.importedFuncs {
		return idx + 1
	}
	return idx
}

// body rewrites one function body (locals, then instructions up to the
// final end) from r into out, with a charge at entry and at every point
// walk splits a segment.
func (w *walker) body(r *reader, out []byte) []byte {
	start := r.pos
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.u32()  // count
		r.byte() // value type
		if r.err != nil {
			return out
		}
	}
	out = append(out, r.b[start:r.pos]...)
	w.edits = append(w.edits[:0], edit{pos: r.pos, end: r.pos, region: 0})
	w.weights = append(w.weights[:0], 0)
	w.stack = append(w.stack[:0], frame{})
	codeStart := r.pos
	w.walk(r, true)
	if r.err != nil {
		return out
	}
	last := codeStart
	for _, e := range w.edits {
		out = append(out, r.b[last:e.pos]...)
		if e.region >= 0 {
			out = w.appendCharge(out, w.weights[e.region])
		} else {
			out = appendULEB(out, uint64(e.idx))
		}
		last = e.end
	}
	return append(out, r.b[last:r.pos]...)
}

// constExpr rewrites a constant expression (ref.func may name a function).
func (w *walker) constExpr(r *reader, out []byte) []byte {
	start := r.pos
	w.edits = w.edits[:0]
	w.weights = append(w.weights[:0], 0)
	w.stack = append(w.stack[:0], frame{})
	w.walk(r, false)
	if r.err != nil {
		return out
	}
	last := start
	for _, e := range w.edits {
		out = append(out, r.b[last:e.pos]...)
		out = appendULEB(out, uint64(e.idx))
		last = e.end
	}
	return append(out, r.b[last:r.pos]...)
}

// appendCharge appends: fuel -= w; if fuel < 0 { fuel = refill() }.
func (w *walker) appendCharge(out []byte, weight int64) []byte {
	out = append(out, 0x23) // global.get
	out = appendULEB(out, uint64(w.fuelGlobal))
	out = append(out, 0x42) // i64.const
	out = appendSLEB(out, weight)
	out = append(out, 0x7d, 0x24) // i64.sub, global.set
	out = appendULEB(out, uint64(w.fuelGlobal))
	out = append(out, 0x23)
	out = appendULEB(out, uint64(w.fuelGlobal))
	out = append(out, 0x42, 0x00, 0x53, 0x04, 0x40, 0x10) // i64.const 0, i64.lt_s, if (empty), call
	out = appendULEB(out, uint64(w.refillFunc))
	out = append(out, 0x24) // global.set
	out = appendULEB(out, uint64(w.fuelGlobal))
	return append(out, 0x0b) // end
}

// walk decodes instructions until the end closing the outermost frame,
// recording the edits and the weight of each segment. With charge set, a
// segment (and a charge) starts at every loop header, after the end of a
// loop and after every call: the code a charge pays for runs straight on
// from it, so control reaches another charge (and check) after at most one
// allowance plus one function body, even while a deep recursion unwinds.
func (w *walker) walk(r *reader, charge bool) {
	seg := len(w.weights) - 1
	for r.err == nil {
		weight, split := int64(1), false
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x04: // block, if
			r.blockType()
			w.stack = append(w.stack, frame{})
		case op == 0x03: // loop
			r.blockType()
			w.stack = append(w.stack, frame{loop: true})
			split = true
		case op == 0x0b: // end
			f := w.stack[len(w.stack)-1]
			w.stack = w.stack[:len(w.stack)-1]
			if len(w.stack) == 0 {
				w.weights[seg]++
				return
			}
			split = f.loop
		case op == 0x10 || op == 0x12: // call, return_call
			pos := r.pos
			idx := r.u32()
			if idx < w.importedFuncs {
				weight = weightHostCall
			}
			w.edits = append(w.edits, edit{pos: pos, end: r.pos, region: -1, idx: w.remap(idx)})
			split = op == 0x10
		case op == 0x11: // call_indirect
			r.u32()
			r.u32()
			split = true // an import reached through a table is a WASI function: prompt
		case op == 0xd2: // ref.func
			pos := r.pos
			idx := r.u32()
			w.edits = append(w.edits, edit{pos: pos, end: r.pos, region: -1, idx: w.remap(idx)})
		case op == 0x40: // memory.grow
			r.u32()
			weight = weightBulk
		case op == 0xfc:
			weight = r.prefixFC()
		case op == 0xfd:
			r.prefixFD()
		case op == 0xfe:
			r.prefixFE()
		default:
			r.plain(op)
		}
		w.weights[seg] += weight
		if split && charge && r.err == nil {
			seg = len(w.weights)
			w.weights = append(w.weights, 0)
			w.edits = append(w.edits, edit{pos: r.pos, end: r.pos, region: int32(seg)})
		}
	}
}

// blockType skips a block type: empty, one value type, or a type index.
func (r *reader) blockType() {
	if r.pos < len(r.b) {
		switch r.b[r.pos] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.pos++
			return
		}
	}
	r.sleb(33)
}

// memarg skips alignment (with the multi-memory index flag) and offset.
func (r *reader) memarg() {
	if r.u32()&0x40 != 0 {
		r.u32()
	}
	r.uleb(64)
}

// plain skips the immediates of an unprefixed instruction other than the
// control and call instructions walk handles itself.
func (r *reader) plain(op byte) {
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
	case op == 0x0c, op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x13: // return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		r.bytes(uint64(r.u32()))
	case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f: // memory.size
		r.u32()
	case op == 0x41:
		r.sleb(32)
	case op == 0x42:
		r.sleb(64)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
	case op == 0xd0: // ref.null
		r.byte()
	default:
		r.fail(fmt.Errorf("unsupported opcode 0x%02x at offset %d", op, r.pos-1))
	}
}

// prefixFC skips a saturating-truncation, bulk-memory or table instruction
// and returns its weight.
func (r *reader) prefixFC() int64 {
	sub := r.u32()
	switch {
	case sub <= 7: // trunc_sat
		return 1
	case sub == 9 || sub == 13 || sub == 16: // data.drop, elem.drop, table.size
		r.u32()
		return 1
	case sub == 11 || sub == 15 || sub == 17: // memory.fill, table.grow, table.fill
		r.u32()
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init/copy, table.init/copy
		r.u32()
		r.u32()
	default:
		r.fail(fmt.Errorf("unsupported opcode 0xfc %d at offset %d", sub, r.pos))
	}
	return weightBulk
}

// prefixFD skips a SIMD instruction.
func (r *reader) prefixFD() {
	sub := r.u32()
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads, store, load_zero
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub <= 0x113:
	default:
		r.fail(fmt.Errorf("unsupported opcode 0xfd %d at offset %d", sub, r.pos))
	}
}

// prefixFE skips an atomic instruction (threads).
func (r *reader) prefixFE() {
	sub := r.u32()
	switch {
	case sub == 3: // atomic.fence
		r.byte()
	case sub <= 0x4e:
		r.memarg()
	default:
		r.fail(fmt.Errorf("unsupported opcode 0xfe %d at offset %d", sub, r.pos))
	}
}
