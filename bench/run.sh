#!/usr/bin/env bash
# Runs every scenario on every pool, each run in its own process, and writes
# RESULTS.md next to this script. See README.md.
#
#   bench/run.sh                  # full run, REPS=5 (about 10 minutes on 2 cores)
#   LATENCY_TIMES=1 bench/run.sh  # latency once per repetition instead of 3 times
#   QUICK=1 bench/run.sh          # a tenth of the work, 1 repetition: checks the instrument
#   REPS=3 POOLS="fixed threadpool ants" SCENARIOS="tiny cpu" bench/run.sh
#   NOTE="taken under load" bench/run.sh   # a note printed under the title
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
POOLS=${POOLS:-"fixed lazy go threadpool threadpool-block ants pond workerpool conc errgroup"}
SCENARIOS=${SCENARIOS:-"tiny tiny8 sleep cpu latency burst"}
OUT=${OUT:-RESULTS.md}
NOTE=${NOTE:-}
TIMEOUT=${TIMEOUT:-300} # seconds per run

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

mkdir -p results
raw=results/raw.jsonl
: >"$raw"
start=$(date +%s)
echo "go: $(go version); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((rep = 1; rep <= REPS; rep++)); do
  for scenario in $SCENARIOS; do
    for size in ${SIZES[$scenario]}; do
      for ((round = 1; round <= ${TIMES[$scenario]:-1}; round++)); do
      for pool in $POOLS; do
        printf 'rep %d/%d  %-8s size %-5s %-11s ' "$rep" "$REPS" "$scenario" "$size" "$pool" >&2
        if line=$(timeout "$TIMEOUT" "$bin" -pool "$pool" -scenario "$scenario" -size "$size" $quickflag 2>"$tmp/err"); then
          echo "$line" >>"$raw"
          # shellcheck disable=SC2001
          echo "$line" | sed 's/.*"ns_per_task":\([0-9.]*\).*/\1 ns\/task/' >&2
        else
          rc=$?
          msg=$(tr '\n"\\' '   ' <"$tmp/err" | cut -c1-200)
          printf '{"pool":"%s","scenario":"%s","size":%s,"error":"exit %d: %s"}\n' \
            "$pool" "$scenario" "$( ((size == 0)) && nproc || echo "$size")" "$rc" "$msg" >>"$raw"
          echo "FAILED (exit $rc)" >&2
        fi
      done
      done
    done
  done
done
echo "done in $(($(date +%s) - start)) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

cmd="bench/run.sh"
[[ $QUICK == 1 ]] && cmd="QUICK=1 $cmd"
cmd="REPS=$REPS $cmd"
[[ ${TIMES[latency]} != 3 ]] && cmd="LATENCY_TIMES=${TIMES[latency]} $cmd"
"$bin" -report "$raw" -out "$OUT" -note "$NOTE" -command "$cmd"
echo "wrote $OUT (raw runs in $raw)" >&2
