#!/usr/bin/env bash
# Usage: N=5 BUSY=18 bash scripts/stack-under-load.sh  (BUSY busy loops load the machine)
# Starts pnpm stack N times with the machine loaded by busy loops; each time kills the worker
# and waits for the supervisor to bring it back, then Ctrl-Cs the stack and checks for orphans.
cd "$(dirname "$0")/.."
root=$(pwd); out=$(mktemp -d)
N=${N:-5}; BUSY=${BUSY:-16}
pids=(); for i in $(seq 1 $BUSY); do (while :; do :; done) & pids+=($!); done
trap 'kill ${pids[@]} 2>/dev/null' EXIT
sleep 20; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $(seq 1 $N); do
  log=$out/stack-$t.log; s=$(date +%s)
  GATEWAY_PORT=18180 NOTIFIER_PORT=18181 setsid pnpm stack > $log 2>&1 & sp=$!
  until grep -q "stop: Ctrl-C" $log || ! kill -0 $sp 2>/dev/null; do sleep 1; done
  up=$(( $(date +%s) - s ))
  if ! grep -q "stop: Ctrl-C" $log; then echo "try $t: FAILED to start"; grep -v '^{' $log | tail -5; continue; fi
  w=$(pgrep -f "$root/services/worker/dist/main.js" | head -1); k=$(date +%s); kill -9 $w
  until grep -q "worker-1 restarted" $log; do sleep 1; done
  back=$(( $(date +%s) - k ))
  kill -INT -- -$sp; wait $sp 2>/dev/null
  sleep 1; orphans=$(pgrep -f "$root/services/.*/dist/main.js" | wc -l)
  echo "try $t: ready in ${up}s, killed worker back in ${back}s, orphans after Ctrl-C: $orphans, load $(cut -d' ' -f1 /proc/loadavg)"
done
