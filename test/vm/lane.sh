#!/usr/bin/env bash
# The VM test lane, as .ci/run runs it: build or reuse the lane
# (test/vm/build.sh), bundle the guest suite (test/vm/guest.vm.ts) with
# esbuild, boot the lane once (test/vm/run.sh) and run the suite there
# against Debian's runc and then against this checkout's dist/runts
# (test/vm/guest-suite.sh).
#
#   test/vm/lane.sh             the guest suite (test/vm/guest.vm.ts), busybox as PID 1
#   test/vm/lane.sh --systemd   the systemd suite (test/vm/systemd.vm.ts): systemd as
#                               PID 1, the systemd cgroup driver (run.sh --systemd)
#
# RUNTS_VM_LANE   off       skip, saying so
#                 auto      (default) run; when something the lane needs is
#                           missing (qemu, a Debian package, root), say why
#                           and skip with status 0
#                 required  (CI) run; anything that keeps the lane from
#                           running is a failure, with the reason
# RUNTS_VM_INSTALL=1        apt-get install the host tools it lacks
#                           (qemu-system-x86, mmdebstrap; xz-utils and
#                           e2fsprogs where a minimal system has none) first
# RUNTS_VM_RUNC   report    (default) run the suite with runc too, report it
#                 required  a runc failure fails the lane as well
#                 off       runts only
# RUNTS_VM_TIMEOUT          seconds for the guest (default 900)
# RUNTS_VM_LANE_TIMEOUT     seconds for the whole lane (default 1200): the
#                           install, the build and each boot get at most what
#                           is left of it, and a step is tried again only
#                           when enough is left. Usual times: about 4 minutes
#                           with a build, 3 with a cached lane.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=test/vm
SUITE="$HERE/guest.vm.ts"
RUN_FLAGS=()
if [ "${1:-}" = --systemd ]; then
  SUITE="$HERE/systemd.vm.ts"
  RUN_FLAGS=(--systemd)
  shift
fi
MODE="${RUNTS_VM_LANE:-auto}"
T0=$(date +%s)
DEADLINE=$((T0 + ${RUNTS_VM_LANE_TIMEOUT:-1200}))
# Seconds for a step: its own limit, or what is left of the lane's if less.
limit() {
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}

say() { printf 'runts-vm: %s\n' "$*" >&2; }
cannot() {
  if [ "$MODE" = required ]; then
    say "lane FAILED: $* (RUNTS_VM_LANE=required)"
    exit 1
  fi
  say "lane SKIPPED: $* (set RUNTS_VM_LANE=required to make this an error)"
  exit 0
}

case "$MODE" in
  off) say "lane SKIPPED: RUNTS_VM_LANE=off"; exit 0 ;;
  auto | required) ;;
  *) say "RUNTS_VM_LANE must be off, auto or required, not '$MODE'"; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || cannot "needs root (mmdebstrap, cgroups and AppArmor in the guest)"

if [ "${RUNTS_VM_INSTALL:-0}" = 1 ]; then
  need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
  command -v xz >/dev/null || need+=(xz-utils)
  command -v mke2fs >/dev/null || need+=(e2fsprogs)
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive timeout -k 10 "$(limit 600)" \
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/var/tmp/runts-vm-install.log 2>&1 ||
      { tail -5 /var/tmp/runts-vm-install.log >&2; cannot "cannot install ${need[*]}"; }
  fi
fi
command -v qemu-system-x86_64 >/dev/null || cannot "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"

# The lane; one more try when the build fails for another reason than a
# missing prerequisite (a download cut short, say) and time is left. A build
# stopped by its limit (TERM to its process group: mmdebstrap unmounts what
# it mounted) leaves nothing: build.sh removes its directory. timeout(1)
# runs it in a process group of its own, which a ^C at the terminal does
# not reach: an INT or TERM here is passed on.
build() {
  local pid
  timeout -k 30 "$(limit 900)" bash "$HERE/build.sh" &
  pid=$!
  trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 130' INT TERM
  wait $pid
}
trap 'exit 130' INT TERM
set +e
LANE="$(build)"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 3 ] && [ $rc -ne 130 ] && [ "$(limit 600)" -ge 600 ]; then
  say "the build failed (exit $rc); trying once more"
  LANE="$(build)"
  rc=$?
fi
set -e
[ $rc -eq 130 ] && { say "lane stopped"; exit 130; }
[ $rc -eq 3 ] && cannot "a prerequisite of the lane is missing (see above)"
[ $rc -eq 124 ] && cannot "the lane's build did not finish in time"
[ $rc -eq 0 ] || cannot "the lane could not be built (exit $rc, see above)"
T1=$(date +%s)

[ -x dist/runts ] || npm run build >&2
ESBUILD=node_modules/.bin/esbuild
[ -x "$ESBUILD" ] || cannot "$ESBUILD is missing (npm ci)"
TMP="$(mktemp -d /var/tmp/runts-vm-lane.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
"$ESBUILD" "$SUITE" --bundle --platform=node --format=esm --target=node20 \
  --outfile="$TMP/guest.mjs" --log-level=warning
cp "$HERE/guest-suite.sh" "$TMP/"
# A snapshot of the runtime (dist/ and its one external module, ffi-rs): the
# guest runs it from its own memory, so a rebuild of dist/ on the host during
# the run cannot mix two builds, and nothing is read over 9p per command
# (several times slower than tmpfs under emulation).
tar -C . -cf "$TMP/runts.tar" dist node_modules/ffi-rs node_modules/@yuuang package.json

run() {
  bash "$HERE/run.sh" "${RUN_FLAGS[@]}" --lane "$LANE" --timeout "$(limit "${RUNTS_VM_TIMEOUT:-900}")" \
    --put "$TMP/guest.mjs" --put "$TMP/guest-suite.sh" --put "$TMP/runts.tar" \
    -e "RUNTS_VM_RUNC=${RUNTS_VM_RUNC:-report}" -e "RUNTS_VM_SUITE_TIMEOUT=${RUNTS_VM_SUITE_TIMEOUT:-420}" \
    -- bash /run/vm/guest-suite.sh
}
[ "$(limit 300)" -ge 300 ] || cannot "less than 300 s of the lane's ${RUNTS_VM_LANE_TIMEOUT:-1200} s left to boot"
set +e
run | tee "$TMP/out"
rc=${PIPESTATUS[0]}
if [ $rc -eq 125 ] && [ "$(limit 300)" -ge 300 ]; then
  say "the VM did not run the suite to its end; booting once more"
  run | tee "$TMP/out"
  rc=${PIPESTATUS[0]}
fi
set -e
T2=$(date +%s)
say "lane: $((T1 - T0))s to build or reuse, $((T2 - T1))s to boot and run the guest suite"
# The closing line, in the plain form CI reads ("N passed, N failed"): the
# runts run's counts; todo tests (differences from runc found outside
# test/vm/, see the suite's KNOWN) are shown as skipped.
counts="$(grep -a '^runts-vm: counts runts ' "$TMP/out" | tail -1 || true)"
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$counts"; }
case $rc in
  0) say "lane passed" ;;
  124) say "lane FAILED: the guest suite did not finish in time (RUNTS_VM_TIMEOUT ${RUNTS_VM_TIMEOUT:-900}s, RUNTS_VM_LANE_TIMEOUT ${RUNTS_VM_LANE_TIMEOUT:-1200}s)" ;;
  125) say "lane FAILED: the VM did not run the suite to its end (the console's last lines are above)" ;;
  *) say "lane FAILED: the guest suite failed" ;;
esac
if [ -n "$counts" ]; then
  pass=$(field pass) fail=$(field fail) cancelled=$(field cancelled) skipped=$(field skipped) todo=$(field todo)
  [ "${todo:-0}" = 0 ] || say "${todo} todo: known differences from runc, listed above"
  echo "vm-lane: ${pass:-0} passed, $(( ${fail:-0} + ${cancelled:-0} )) failed, $(( ${skipped:-0} + ${todo:-0} )) skipped"
fi
exit $rc
