#!/usr/bin/env bash
# Boot the lane (test/vm/build.sh) with qemu and run one command in it, in
# the checkout (shared read-only over 9p at the same path as here), as root,
# on a pure cgroup v2 host with AppArmor. Its output is streamed here; the
# exit status is the command's.
#
#   test/vm/run.sh [options] [--] COMMAND [ARG...]
#     --lane DIR       a built lane (default: build or reuse one with build.sh)
#     -e NAME=VALUE    set a variable for the command (repeatable)
#     --put FILE       copy FILE into the guest's /run/vm/ (repeatable)
#     --timeout SEC    power the VM off after SEC seconds (default 1200)
#     --mem MB         guest memory (default 2048)
#     --smp N          guest CPUs (default 2)
#     --append ARGS    more kernel command line
#     --systemd        boot with systemd as PID 1 (pure cgroup v2, the system
#                      bus up) and run the command as a service once the
#                      default target is reached (test/vm/runts-vm.service)
#
# Exit status: the command's; 124 when the timeout killed the VM; 125 when the
# VM did not run the command to its end (boot failure, guest crash: the
# console above shows why); 3 when a prerequisite is missing (see build.sh).
#
# TCG (software emulation), not KVM: /dev/kvm on this machine kind cannot run
# Debian's kernel. The kernel boots through its PVH entry (the uncompressed
# vmlinux), which skips the bzImage's setup code and xz decompression: a boot
# and a trivial command take about 7 s here, 13.5 s from the bzImage. q35, not
# pc: virtio devices on PCIe with MSI-X need no ACPI interrupt-link setup
# (about 1 s less).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../.." && pwd)"
LANE=""
TIMEOUT=1200
MEM=2048
SMP=2
APPEND=""
SYSTEMD=0
ENVS=()
PUTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lane) LANE="$2"; shift 2 ;;
    -e) ENVS+=("$2"); shift 2 ;;
    --put) PUTS+=("$2"); shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --mem) MEM="$2"; shift 2 ;;
    --smp) SMP="$2"; shift 2 ;;
    --append) APPEND="$2"; shift 2 ;;
    --systemd) SYSTEMD=1; shift ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: test/vm/run.sh [options] [--] COMMAND [ARG...]" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "runts-vm: missing prerequisite: qemu-system-x86_64 (apt-get install qemu-system-x86)" >&2; exit 3; }
if [ -z "$LANE" ]; then
  LANE="$(bash "$HERE/build.sh")" || exit $?
fi
for f in vmlinux initramfs.cpio root.img; do
  [ -f "$LANE/$f" ] || { echo "runts-vm: $LANE/$f is missing (not a built lane)" >&2; exit 3; }
done
case "$SRC" in *[[:space:]]*) echo "runts-vm: the checkout's path must have no spaces: $SRC" >&2; exit 2 ;; esac

RUN="$(mktemp -d /var/tmp/runts-vm-run.XXXXXX)"
QEMU_PID=""
cleanup() {
  # timeout(1) passes TERM on to qemu, which exits at once.
  if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'RUNTS_VM_SRC=%q\nRUNTS_VM_SYSTEMD=%s\n' "$SRC" "$SYSTEMD" >"$RUN/env"
for f in "${PUTS[@]}"; do cp "$f" "$RUN/"; done
{
  echo 'set -e'
  for e in "${ENVS[@]}"; do printf 'export %q\n' "$e"; done
  echo 'set +e'
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$RUN/cmd"

# Options that save boot time under TCG: no legacy probing we do not need,
# no mitigations (nothing here to protect), a quiet console.
CMDLINE="console=ttyS0 rdinit=/init panic=-1 quiet loglevel=1 cgroup_no_v1=all apparmor=1 security=apparmor"
CMDLINE+=" mitigations=off i8042.noaux i8042.nokbd i8042.nopnp random.trust_cpu=on tsc=reliable no_timer_check"
[ "$SYSTEMD" = 1 ] && CMDLINE+=" systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 systemd.log_level=warning"
[ -n "$APPEND" ] && CMDLINE+=" $APPEND"

START=$(date +%s%N)
set +e
# Our own child only, stopped by timeout(1) (TERM, then KILL 10 s later).
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
  -nodefaults -no-user-config -no-reboot \
  -machine q35 -accel tcg,thread=multi -cpu max -smp "$SMP" -m "$MEM" \
  -display none -monitor none -chardev stdio,id=con,signal=off -serial chardev:con \
  -kernel "$LANE/vmlinux" -initrd "$LANE/initramfs.cpio" -append "$CMDLINE" \
  -drive file="$LANE/root.img",if=none,id=root,format=raw,readonly=on \
  -device virtio-blk-pci,drive=root \
  -fsdev local,id=src,path="$SRC",security_model=none,readonly=on \
  -device virtio-9p-pci,fsdev=src,mount_tag=src \
  -fsdev local,id=run,path="$RUN",security_model=none \
  -device virtio-9p-pci,fsdev=run,mount_tag=run \
  </dev/null &
QEMU_PID=$!
wait "$QEMU_PID"
QEMU_STATUS=$?
set -e
QEMU_PID=""
ms=$(( ($(date +%s%N) - START) / 1000000 ))
ELAPSED="$((ms / 1000)).$(printf %03d $((ms % 1000)))"

if [ "$QEMU_STATUS" = 124 ] || [ "$QEMU_STATUS" = 137 ]; then
  echo "runts-vm: timeout after ${TIMEOUT}s: the VM was stopped" >&2
  exit 124
fi
if [ ! -f "$RUN/status" ]; then
  if [ -f "$RUN/booted" ]; then
    echo "runts-vm: the guest stopped before the command ended (qemu exit $QEMU_STATUS, ${ELAPSED}s)" >&2
  else
    echo "runts-vm: the guest did not boot (qemu exit $QEMU_STATUS, ${ELAPSED}s)" >&2
  fi
  exit 125
fi
STATUS="$(cat "$RUN/status")"
echo "runts-vm: exit $STATUS after ${ELAPSED}s (boot + command)" >&2
exit "$STATUS"
