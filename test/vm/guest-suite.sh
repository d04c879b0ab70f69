#!/bin/bash
# In the lane's guest (started by test/vm/lane.sh through run.sh): run the
# guest suite, bundled at /run/vm/guest.mjs, with node's test runner: first
# against Debian's runc (the reference; RUNTS_VM_RUNC=off skips it), then
# against this checkout's runts. Exit status: 1 when the runts run failed, or
# the runc run failed and RUNTS_VM_RUNC=required; else 0.
set -u
cd "$RUNTS_VM_SRC"
RUNC_MODE="${RUNTS_VM_RUNC:-report}"
# The runtime snapshot lane.sh took of dist/ (and ffi-rs), in guest memory.
if [ -f /run/vm/runts.tar ]; then
  mkdir -p /opt/runts
  tar -C /opt/runts -xf /run/vm/runts.tar
  export RUNTS_VM_RUNTS=/opt/runts/dist/runts
fi
declare -A STATUS=() SECS=()
suite() {
  local runtime="$1" start end
  echo "runts-vm: guest suite with $runtime"
  start=$(date +%s)
  # Each run bounded (a hung runtime must not eat the other's time): 124 when it ran out.
  RUNTS_VM_RUNTIME="$runtime" timeout -k 10 "${RUNTS_VM_SUITE_TIMEOUT:-420}" \
    node --test --test-reporter=spec /run/vm/guest.mjs 2>&1 | tee "/tmp/suite-$runtime.out"
  STATUS[$runtime]=${PIPESTATUS[0]}
  end=$(date +%s)
  SECS[$runtime]=$((end - start))
}
# The counts of node's summary ("ℹ pass 16"), for lane.sh's closing line.
count() { sed -n "s/^ℹ $2 \([0-9]*\)$/\1/p" "/tmp/suite-$1.out" | tail -1; }
[ "$RUNC_MODE" = off ] || suite runc
suite runts
echo
for r in runc runts; do
  [ -n "${STATUS[$r]:-}" ] || continue
  if [ "${STATUS[$r]}" = 0 ]; then word=passed; else word="FAILED (exit ${STATUS[$r]})"; fi
  echo "runts-vm: guest suite with $r: $word in ${SECS[$r]}s"
  echo "runts-vm: counts $r pass=$(count $r pass) fail=$(count $r fail) cancelled=$(count $r cancelled) skipped=$(count $r skipped) todo=$(count $r todo)"
done
[ "${STATUS[runts]}" = 0 ] || exit 1
[ "$RUNC_MODE" != required ] || [ "${STATUS[runc]:-0}" = 0 ] || exit 1
exit 0
