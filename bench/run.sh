#!/usr/bin/env bash
# Runs every scenario on every pool, each run in its own process, and writes
# RESULTS.md next to this script and the charts (results/*.svg, cmd/charts)
# from the same runs. See README.md.
#
#   bench/run.sh                  # full run, REPS=5 (about 10 minutes on 2 cores)
#   LATENCY_TIMES=1 bench/run.sh  # latency once per repetition instead of 3 times
#   QUICK=1 bench/run.sh          # a tenth of the work, 1 repetition: checks the instrument
#   REPS=3 POOLS="fixed threadpool ants" SCENARIOS="tiny cpu" bench/run.sh
#   NOTE="taken under load" bench/run.sh   # a note printed under the title
#   CLUSTER=1 bench/run.sh        # also the cluster scenarios (NATS JetStream, worker processes)
#   CLUSTER=only REPS=3 bench/run.sh   # only them: replaces the cluster section of RESULTS.md
set -euo pipefail
cd "$(dirname "$0")"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  REPS=${REPS:-1}
  quickflag=-quick
else
  REPS=${REPS:-5}
  quickflag=
fi
POOLS=${POOLS:-"fixed lazy go threadpool threadpool-block threadpool-observed ants pond workerpool conc errgroup"}
SCENARIOS=${SCENARIOS:-"tiny tiny8 sleep cpu latency burst"}
OUT=${OUT:-RESULTS.md}
NOTE=${NOTE:-}
TIMEOUT=${TIMEOUT:-300} # seconds per run
# The cluster scenarios (cmd/bench/cluster.go): each run starts an embedded
# NATS server and CLUSTER_PROCS worker processes; "size" is that number.
CLUSTER=${CLUSTER:-0} # 0: none, 1: also, only: only them
CLUSTER_VARIANTS=${CLUSTER_VARIANTS:-"exact exact-ephemeral prefetch100 prefetch100-ephemeral prefetch100-ephemeral-memory"}
CLUSTER_PROCS=${CLUSTER_PROCS:-"1 3"}
CLUSTER_SCENARIOS=${CLUSTER_SCENARIOS:-"cluster-tput cluster-rtt"}

# scenario -> sizes (0 means GOMAXPROCS)
declare -A SIZES=(
  [tiny]="0 10000"
  [tiny8]="0 10000"
  [sleep]="1000"
  [cpu]="0"
  [latency]="0"
  [burst]="1000"
)

# scenario -> runs per repetition. A latency run is short, and a whole process
# can land in a slow mode (p50 two or three times higher, for any pool), so
# its median is taken over three times as many runs.
declare -A TIMES=(
  [latency]=${LATENCY_TIMES:-3}
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/bench
echo "building..." >&2
go build -o "$bin" ./cmd/bench
go build -o "$tmp/charts" ./cmd/charts

# run_one POOL SCENARIO SIZE RAWFILE: one run in its own process, its JSON
# line (or a failure line) appended to RAWFILE.
run_one() {
  local pool=$1 scenario=$2 size=$3 rawfile=$4 line rc msg
  printf 'rep %d/%d  %-12s size %-5s %-21s ' "$rep" "$REPS" "$scenario" "$size" "$pool" >&2
  if line=$(timeout "$TIMEOUT" "$bin" -pool "$pool" -scenario "$scenario" -size "$size" $quickflag 2>"$tmp/err"); then
    echo "$line" >>"$rawfile"
    # shellcheck disable=SC2001
    case $scenario in
      cluster-tput) echo "$line" | sed 's/.*"tasks_per_sec":\([0-9]*\).*/\1 tasks\/s/' >&2 ;;
      cluster-rtt) echo "$line" | sed 's/.*"p50_ns":\([0-9]*\),"p99_ns":\([0-9]*\).*/p50 \1 ns, p99 \2 ns/' >&2 ;;
      *) echo "$line" | sed 's/.*"ns_per_task":\([0-9.]*\).*/\1 ns\/task/' >&2 ;;
    esac
  else
    rc=$?
    msg=$(tr '\n"\\' '   ' <"$tmp/err" | cut -c1-200)
    printf '{"pool":"%s","scenario":"%s","size":%s,"error":"exit %d: %s"}\n' \
      "$pool" "$scenario" "$( ((size == 0)) && nproc || echo "$size")" "$rc" "$msg" >>"$rawfile"
    echo "FAILED (exit $rc)" >&2
  fi
}

mkdir -p results
raw=results/raw.jsonl
craw=results/cluster.jsonl
if [[ $CLUSTER != only ]]; then : >"$raw"; fi
if [[ $CLUSTER != 0 ]]; then : >"$craw"; fi
start=$(date +%s)
echo "go: $(go version); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= REPS; rep++)); do
  if [[ $CLUSTER != only ]]; then
    for scenario in $SCENARIOS; do
      for size in ${SIZES[$scenario]}; do
        for ((round = 1; round <= ${TIMES[$scenario]:-1}; round++)); do
          for pool in $POOLS; do
            run_one "$pool" "$scenario" "$size" "$raw"
          done
        done
      done
    done
  fi
  if [[ $CLUSTER != 0 ]]; then
    for scenario in $CLUSTER_SCENARIOS; do
      for procs in $CLUSTER_PROCS; do
        for variant in $CLUSTER_VARIANTS; do
          run_one "$variant" "$scenario" "$procs" "$craw"
        done
      done
    done
  fi
done
echo "done in $(($(date +%s) - start)) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

cmd="bench/run.sh"
[[ $QUICK == 1 ]] && cmd="QUICK=1 $cmd"
cmd="REPS=$REPS $cmd"
if [[ $CLUSTER != only ]]; then
  [[ ${TIMES[latency]} != 3 ]] && cmd="LATENCY_TIMES=${TIMES[latency]} $cmd"
  "$bin" -report "$raw" -out "$OUT" -note "$NOTE" -command "$cmd"
  model=$(sed -n '/^model name/{s/^model name[[:space:]]*: //p;q}' /proc/cpuinfo)
  "$tmp/charts" -in "$raw" -out results \
    -caption "$cmd · $(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) CPUs, ${model:-unknown CPU} · $(go env GOVERSION)"
fi
if [[ $CLUSTER != 0 ]]; then
  ccmd="CLUSTER=$CLUSTER $cmd"
  [[ $CLUSTER_PROCS != "1 3" ]] && ccmd="CLUSTER_PROCS=\"$CLUSTER_PROCS\" $ccmd"
  [[ $CLUSTER_VARIANTS != "exact exact-ephemeral prefetch100 prefetch100-ephemeral prefetch100-ephemeral-memory" ]] && ccmd="CLUSTER_VARIANTS=\"$CLUSTER_VARIANTS\" $ccmd"
  [[ $CLUSTER_SCENARIOS != "cluster-tput cluster-rtt" ]] && ccmd="CLUSTER_SCENARIOS=\"$CLUSTER_SCENARIOS\" $ccmd"
  "$bin" -cluster-report "$craw" -out "$OUT" -note "$NOTE" -command "$ccmd"
fi
case $CLUSTER in
  0) echo "wrote $OUT and results/*.svg (raw runs in $raw)" >&2 ;;
  only) echo "wrote the cluster section of $OUT (raw runs in $craw)" >&2 ;;
  *) echo "wrote $OUT and results/*.svg (raw runs in $raw and $craw)" >&2 ;;
esac
