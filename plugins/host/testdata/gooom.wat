;; gooom: writes to stderr what a Go runtime writes when it runs out of
;; memory (the cause, then a long goroutine dump) and exits with status 2,
;; as Go's runtime does, without growing its memory near the limit
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "\00\00\00\00")
  (data (i32.const 256) "runtime: out of memory: cannot allocate 4194304-byte block (3932160 in use)\nfatal error: out of memory\n\n")
  (data (i32.const 1024) "goroutine 1 gp=0x1c000 m=0 mp=0x3e0a0 [running]:\nruntime.throw({0x2bd7a, 0xd})\n\t/usr/lib/go/src/runtime/panic.go:1101 +0x5\n")
  (func (export "er_abi_version") (result i32) (i32.const 1))
  (func (export "er_kind") (result i32) (i32.const 1))
  ;; requests are written at 64 KiB, up to 64 KiB long
  (func (export "er_buffer") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then (return (i32.const 0))))
    (i32.const 65536))
  ;; init: status OK at offset 0
  (func (export "er_init") (param i32 i32) (result i64) (i64.const 4))
  ;; write: writes memory [p, p+n) to stderr (iovec at 16, count at 32)
  (func $write (param $p i32) (param $n i32)
    (i32.store (i32.const 16) (local.get $p))
    (i32.store (i32.const 20) (local.get $n))
    (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 32))))
  ;; series: the cause, 200 frames of dump (about 20 KiB), exit status 2
  (func (export "er_series") (param $p i32) (param $n i32) (result i64)
    (local $i i32)
    (call $write (i32.const 256) (i32.const 104))
    (loop $l
      (call $write (i32.const 1024) (i32.const 123))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 200))))
    (call $proc_exit (i32.const 2))
    unreachable)
)
