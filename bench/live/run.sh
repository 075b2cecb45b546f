#!/usr/bin/env bash
# Live cost of edgerelay with real processes on loopback: an edge scraping a
# target (node_exporter when installed) and shipping over QUIC to a cloud
# writing files. Everything printed is read from the two processes' own
# /metrics, so it is what an operator sees:
#   wire bytes/sample  edgerelay_uplink_sent_bytes_total / edgerelay_uplink_sent_samples_total
#   edge CPU s per 1M samples, edge peak RSS (process_* metrics, sampled every 2 s)
#
#   bench/live/run.sh [seconds] [scrape_interval]      (defaults: 180 1s)
#   TARGET=host:port bench/live/run.sh                  (scrape that instead)
#   SYNTH="5000 5000 50000" bench/live/run.sh 120 5s    (add synthetic targets of
#       2N+13 samples each: this one is DESIGN.md's 24.1k samples/s workload)
#   PROFILE=edge.pprof bench/live/run.sh                (also save a 30 s CPU profile of the edge)
#   HEAP=edge.heap bench/live/run.sh                    (also save the edge's heap profile after a GC at the end)
#   EDGELOG=edge.log bench/live/run.sh                 (keep the edge's log, e.g. its "memory limit changed" lines)
#   BIN=/path/to/edgerelay bench/live/run.sh            (run that binary instead of building ./bin/edgerelay,
#       e.g. to compare two builds one after another)
# It also prints the edge's live heap after a forced GC (runtime.MemStats
# HeapAlloc from /debug/pprof/heap?gc=1&debug=1) per active series.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-180}
interval=${2:-1s}
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  make -s build
  bin=$PWD/bin/edgerelay
fi
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${EDGELOG:-}" ]; then cp "$dir/edge.log" "$EDGELOG" || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
target=${TARGET:-}
if [ -z "$target" ]; then
  ne=$(command -v prometheus-node-exporter || command -v node_exporter || true)
  if [ -z "$ne" ]; then
    echo "no TARGET given and no node_exporter installed (apt-get install prometheus-node-exporter)" >&2
    exit 1
  fi
  target=127.0.0.1:$(port)
  "$ne" --web.listen-address="$target" >"$dir/ne.log" 2>&1 &
  pids+=($!)
fi
targets="\"$target\""
if [ -n "${SYNTH:-}" ]; then
  go build -o "$dir/target" ./bench/live/target
  args=()
  for n in $SYNTH; do a=127.0.0.1:$(port); args+=(-serve "$a=$n"); targets="$targets, \"$a\""; done
  "$dir/target" "${args[@]}" >"$dir/target.log" 2>&1 &
  pids+=($!)
fi
ehttp=127.0.0.1:$(port); chttp=127.0.0.1:$(port); quic=127.0.0.1:$(port)
cat >"$dir/cloud.yaml" <<YAML
cloud: {quic_listen: "$quic", http_listen: "$chttp", data_dir: "$dir/cloud", files_dir: "$dir/files"}
YAML
cat >"$dir/edge.yaml" <<YAML
edge:
  tenant: bench
  site: bench-1
  data_dir: $dir/edge
  http_listen: $ehttp
  debug: {pprof: true}
  scrape_configs:
    - job_name: node
      scrape_interval: $interval
      static_configs: [{targets: [$targets]}]
  upstream: {address: "$quic", server_name: localhost, insecure_skip_verify: true}
YAML
"$bin" run --config "$dir/cloud.yaml" >"$dir/cloud.log" 2>&1 &
pids+=($!)
"$bin" run --config "$dir/edge.yaml" >"$dir/edge.log" 2>&1 &
pids+=($!)
epid=$!

# m ADDR NAME: the sum of NAME over its label sets on ADDR's /metrics.
m() { curl -s "http://$1/metrics" | awk -v n="$2" '{split($1, a, "{")} a[1]==n {s+=$2} END {printf "%.17g\n", s+0}'; }
for _ in $(seq 50); do curl -sf "http://$ehttp/-/ready" >/dev/null && break; sleep 0.2; done
sleep 5 # past the first (full) frames
b0=$(m "$ehttp" edgerelay_uplink_sent_bytes_total); s0=$(m "$ehttp" edgerelay_uplink_sent_samples_total)
c0=$(m "$ehttp" process_cpu_seconds_total); i0=$(m "$ehttp" edgerelay_ingested_samples_total)
cc0=$(m "$chttp" process_cpu_seconds_total)
peak=0; cpeak=0; rsum=0; rn=0
# kb PID FIELD: a kB field of /proc/PID/status, in bytes.
kb() { awk -v f="$2:" '$1==f {print $2*1024}' "/proc/$1/status"; }
if [ -n "${PROFILE:-}" ]; then
  curl -s -o "$PROFILE" "http://$ehttp/debug/pprof/profile?seconds=30" &
  curl -s -o "$PROFILE.allocs" "http://$ehttp/debug/pprof/allocs?seconds=30" &
  (sleep 29; curl -s -o "$PROFILE.heap" "http://$ehttp/debug/pprof/heap") &
fi
end=$((SECONDS + secs))
while [ $SECONDS -lt $end ]; do
  r=$(m "$ehttp" process_resident_memory_bytes); peak=$(python3 -c "print(max($peak, float('$r')))")
  r=$(m "$chttp" process_resident_memory_bytes); cpeak=$(python3 -c "print(max($cpeak, float('$r')))")
  rsum=$((rsum + $(kb "$epid" VmRSS))); rn=$((rn + 1))
  sleep 2
done
b1=$(m "$ehttp" edgerelay_uplink_sent_bytes_total); s1=$(m "$ehttp" edgerelay_uplink_sent_samples_total)
c1=$(m "$ehttp" process_cpu_seconds_total); i1=$(m "$ehttp" edgerelay_ingested_samples_total)
cc1=$(m "$chttp" process_cpu_seconds_total)
hwm=$(kb "$epid" VmHWM)
# Where the edge's resident memory is at the end: anonymous (Go heap, stacks,
# Badger's Go-allocated tables) against file-backed (the binary's text,
# Badger's memory-mapped tables and value log), and the Go runtime's split.
smaps=$(awk '$1=="Rss:"||$1=="Anonymous:"||$1=="Pss_File:" {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$epid/smaps_rollup")
gomem=""
for g in go_memstats_heap_inuse_bytes go_memstats_heap_idle_bytes go_memstats_heap_released_bytes go_memstats_stack_inuse_bytes go_memstats_sys_bytes go_gc_gomemlimit_bytes; do
  gomem="$gomem ${g#go_memstats_}=$(python3 -c "print(round($(m "$ehttp" "$g")/2**20,1))")"
done
bt=$(m "$ehttp" edgerelay_uplink_sent_bytes_total); st=$(m "$ehttp" edgerelay_uplink_sent_samples_total)
full=$(m "$ehttp" edgerelay_delta_full_frames_total); frames=$(m "$ehttp" edgerelay_delta_frames_total)
# The live heap right after a GC (HeapAlloc as the heap profile's text form
# prints it), taken after the CPU window (a forced GC costs CPU): five
# samples 1.3 s apart, so some fall between scrapes and some during one;
# and that profile itself when HEAP names a file.
heaps=""
for _ in 1 2 3 4 5; do
  heaps="$heaps $(curl -s "http://$ehttp/debug/pprof/heap?gc=1&debug=1" | awk '$2=="HeapAlloc" {print $4}')"
  sleep 1.3
done
if [ -n "${HEAP:-}" ]; then curl -s -o "$HEAP" "http://$ehttp/debug/pprof/heap?gc=1"; fi
# Active series: the sample lines the targets serve (plus the report series
# up, scrape_duration_seconds, ... five per target).
series=0
for t in $(echo "$targets" | tr -d '",'); do
  n=$(curl -s "http://$t/metrics" | grep -vc '^#' || true); series=$((series + n + 5))
done
python3 - "$b0" "$b1" "$s0" "$s1" "$c0" "$c1" "$i0" "$i1" "$bt" "$st" "$peak" "$cpeak" "$full" "$frames" "$secs" "$interval" "$target" "${SYNTH:-}" "$cc0" "$cc1" "$heaps" "$series" "$rsum" "$rn" "$hwm" "$smaps" "$gomem" <<'PY'
import sys
b0,b1,s0,s1,c0,c1,i0,i1,bt,st,peak,cpeak,full,frames=map(float,sys.argv[1:15])
secs,interval,target=sys.argv[15:18]
print(f"targets {target} + SYNTH=[{sys.argv[18]}], scrape_interval {interval}, measured {secs} s after a 5 s warm-up")
print(f"samples ingested          {i1-i0:.0f} ({(i1-i0)/float(secs):.0f}/s)")
print(f"wire bytes/sample steady  {(b1-b0)/max(s1-s0,1):.3f}   (all, first full frames included: {bt/max(st,1):.3f}; {full:.0f} of {frames:.0f} frames full)")
cc0,cc1=map(float,sys.argv[19:21])
print(f"edge CPU s per 1M samples {(c1-c0)/max(i1-i0,1)*1e6:.2f}   (cloud, writing files: {(cc1-cc0)/max(i1-i0,1)*1e6:.2f})")
print(f"peak RSS                  edge {peak/2**20:.1f} MiB, cloud {cpeak/2**20:.1f} MiB")
rsum,rn,hwm=map(float,sys.argv[23:26])
print(f"edge RSS (/proc)          average {rsum/max(rn,1)/2**20:.1f} MiB over {rn:.0f} samples, VmHWM {hwm/2**20:.1f} MiB")
print(f"edge smaps_rollup at end  {sys.argv[26]}")
print(f"edge Go runtime (MiB)    {sys.argv[27]}")
heaps=sorted(float(h) for h in sys.argv[21].split())
series=float(sys.argv[22])
if heaps and series:
    lo,hi=heaps[0],heaps[-1]
    print(f"edge live heap after GC   {lo/2**20:.1f}–{hi/2**20:.1f} MiB, {lo/series:.0f}–{hi/series:.0f} B per active series ({series:.0f} series; fewest between scrapes, most during one)")
PY
