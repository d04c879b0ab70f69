#!/usr/bin/env bash
# Build (or reuse) the VM test lane: Debian's own kernel, a busybox initramfs
# and an ext4 root filesystem made with mmdebstrap from this machine's apt
# sources, plus this machine's node. Everything comes from Debian packages
# (and the host's /usr/bin/node); nothing is installed on the host but the
# tools (qemu-system-x86, mmdebstrap), and the kernel is extracted from its
# .deb, never installed.
#
#   test/vm/build.sh            build if needed; print the lane's directory
#   test/vm/build.sh --key      print the cache key only
#
# The lane lives in $RUNTS_VM_CACHE/<key> (default /var/cache/runts-vm),
# where <key> hashes every input: the versions apt would install of each
# package, the node binary, and the files of test/vm/ that go into the image.
# A lane whose inputs have not changed is reused as it is; other lanes in the
# cache are removed once a new one is complete.
#
# Exit status: 0 built or reused; 3 a prerequisite is missing (the message
# says which: a tool, a package apt cannot find); 1 any other failure.
# Output: progress on stderr, the lane's directory alone on stdout.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${RUNTS_VM_CACHE:-/var/cache/runts-vm}"
NODE_BIN="${RUNTS_VM_NODE:-$(command -v node || true)}"
# The guest's packages (their dependencies come along). runc: to compare;
# bpftool: to count the device programs attached to a cgroup; systemd, dbus
# and systemd-container: the systemd mode (run.sh --systemd), where systemd
# is PID 1 and the systemd cgroup driver is tested.
PACKAGES=(busybox-static apparmor libseccomp2 runc util-linux mount iproute2 libstdc++6 bpftool systemd dbus systemd-container)
# Modules the initramfs loads (their dependencies come along, in order).
MODULES=(virtio_pci virtio_blk crc32c_generic ext4 overlay 9pnet_virtio 9p)

log() { printf 'runts-vm: %s\n' "$*" >&2; }
missing() {
  log "missing prerequisite: $*"
  exit 3
}

export DEBIAN_FRONTEND=noninteractive
# apt's sandbox user cannot write into a 0700 /tmp (as on this machine kind).
export TMPDIR=/var/tmp

for tool in apt-cache apt-get dpkg-deb mke2fs xz sha256sum; do
  command -v "$tool" >/dev/null || missing "$tool is not installed"
done
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || missing "no node binary (node on PATH, or RUNTS_VM_NODE)"
NODE_BIN="$(readlink -f "$NODE_BIN")"

# The version apt would install of a package, or nothing.
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }

# The kernel: linux-image-amd64 names the real package (linux-image-6.1.0-N-amd64).
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
[ -n "$KPKG" ] || missing "apt knows no linux-image-amd64 (run apt-get update?)"
KVER="$(candidate "$KPKG")"
[ -n "$KVER" ] && [ "$KVER" != "(none)" ] || missing "no installable version of $KPKG"

inputs="kernel $KPKG $KVER"$'\n'
# One apt-cache call for all (each call reads the whole cache: ~2 s).
declare -A CAND=()
while read -r p v; do CAND[$p]="$v"; done < <(apt-cache policy "${PACKAGES[@]}" libc6 2>/dev/null | awk '/^[^ ]/ {sub(":$", "", $1); p = $1} /Candidate:/ {print p, $2}')
for p in "${PACKAGES[@]}" libc6; do
  v="${CAND[$p]:-}"
  [ -n "$v" ] && [ "$v" != "(none)" ] || missing "package $p is not available from apt (run apt-get update?)"
  inputs+="$p $v"$'\n'
done
inputs+="node $(sha256sum <"$NODE_BIN" | cut -d' ' -f1)"$'\n'
for f in build.sh initramfs-init guest-init runts-vm.service; do
  inputs+="$f $(sha256sum <"$HERE/$f" | cut -d' ' -f1)"$'\n'
done
KEY="$(printf '%s' "$inputs" | sha256sum | cut -c1-16)"
if [ "${1:-}" = "--key" ]; then
  echo "$KEY"
  exit 0
fi
LANE="$CACHE/$KEY"

# Remove a build directory. mmdebstrap unmounts what it mounted in the root
# (proc, sys, dev nodes) when it ends, on SIGTERM too; after a SIGKILL
# they stay: unmount what is left under it first, deepest first, and never
# let rm cross into a mount (the host's /sys or /dev).
remove_build() {
  local dir="$1" m
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  for m in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || log "cannot unmount $m"
  done
  rm -rf --one-file-system "$dir"
}

# One build at a time (a second caller waits, then reuses what the first built).
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
# What a build that was killed left (none runs now: we hold the lock).
for old in "$CACHE"/.build-*; do
  [ -e "$old" ] || continue
  log "removing $old, left by a build that did not finish"
  remove_build "$old"
done
if [ -f "$LANE/ready" ]; then
  log "reusing $LANE"
  echo "$LANE"
  exit 0
fi

command -v mmdebstrap >/dev/null || missing "mmdebstrap is not installed (apt-get install mmdebstrap)"
command -v qemu-system-x86_64 >/dev/null || missing "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"

WORK="$(mktemp -d "$CACHE/.build-$KEY-XXXXXX")"
trap 'remove_build "$WORK"' EXIT
START=$(date +%s)
log "building lane $KEY in $WORK"

# 1. The kernel package, extracted (not installed): vmlinuz and the modules.
log "downloading $KPKG $KVER"
(cd "$WORK" && apt-get download -q "$KPKG=$KVER" >/dev/null 2>"$WORK/download.log") || {
  cat "$WORK/download.log" >&2
  missing "cannot download $KPKG $KVER"
}
mkdir "$WORK/kernel"
dpkg-deb -x "$WORK"/linux-image-*.deb "$WORK/kernel"
VMLINUZ="$(ls "$WORK"/kernel/boot/vmlinuz-* | head -1)"
UNAME="${VMLINUZ##*/vmlinuz-}"
MODDIR="$WORK/kernel/lib/modules/$UNAME"

# The uncompressed vmlinux (an ELF with a PVH entry note: qemu boots it
# directly, skipping the bzImage's real-mode setup and decompression).
# Debian compresses with xz; find each xz stream start and try it.
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1); do
  tail -c +$((off + 1)) "$VMLINUZ" | xz -dc 2>/dev/null >"$WORK/vmlinux.try" || true
  if [ "$(head -c4 "$WORK/vmlinux.try" | od -An -c | tr -d ' ')" = '177ELF' ]; then
    mv "$WORK/vmlinux.try" "$WORK/vmlinux"
    break
  fi
done
[ -f "$WORK/vmlinux" ] || { log "no xz-compressed ELF kernel found in $VMLINUZ"; exit 1; }
rm -f "$WORK/vmlinux.try"

# 2. The root filesystem, from this machine's apt sources.
SOURCES=()
[ -s /etc/apt/sources.list ] && SOURCES+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && SOURCES+=("$f")
done
[ ${#SOURCES[@]} -gt 0 ] || missing "no apt sources in /etc/apt"
SUITE="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
log "mmdebstrap $SUITE: ${PACKAGES[*]}"
if ! mmdebstrap --mode=root --variant=essential \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  "$SUITE" "$WORK/rootfs" "${SOURCES[@]}" >"$WORK/mmdebstrap.log" 2>&1; then
  tail -20 "$WORK/mmdebstrap.log" >&2
  if grep -qE "Unable to locate package|has no installation candidate|Failed to fetch" "$WORK/mmdebstrap.log"; then
    missing "mmdebstrap could not get the packages (see above)"
  fi
  log "mmdebstrap failed"
  exit 1
fi
R="$WORK/rootfs"
# The host's node, with the libraries it needs (all in the Debian root already;
# copied from the host when not, so the guest runs the very same binary).
install -m 0755 "$NODE_BIN" "$R/usr/bin/node"
for lib in $(ldd "$NODE_BIN" | awk '/=> \// {print $3}'); do
  [ -e "$R$lib" ] || [ -e "$R/usr$lib" ] || { log "copying $lib from the host"; install -D -m 0644 "$lib" "$R/usr$lib"; }
done
install -m 0755 "$HERE/guest-init" "$R/sbin/runts-vm-init"
# Mount points the guest init uses.
mkdir -p "$R/run/vm" "$R/sys/fs/cgroup" "$R/sys/kernel/security"
echo runts-vm >"$R/etc/hostname"
# The systemd mode (guest-init starts systemd when run.sh says so): the unit
# that runs the command, a fixed machine ID (no first-boot presets), and no
# units that would wait for hardware or write to the console.
install -m 0644 "$HERE/runts-vm.service" "$R/etc/systemd/system/runts-vm.service"
echo 5e6e1d1c0ffee0ddba11c0de00000017 >"$R/etc/machine-id"
ln -sf /lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
for u in getty.target serial-getty@ttyS0.service console-getty.service systemd-networkd.service \
  systemd-resolved.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-logind.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' >"$WORK/packages.txt"
rm -rf "$R/var/cache/apt" "$R/var/lib/apt/lists" "$R/var/log"/*.log

# 3. The root image: ext4 from the directory (no loop mount), read-only in
# the guest under a tmpfs overlay; also the guest's real block device (io.max).
SIZE_MB=$(( $(du -sm "$R" | cut -f1) * 5 / 4 + 64 ))
mke2fs -q -t ext4 -L runts-vm -d "$R" "$WORK/root.img" "${SIZE_MB}M" >&2

# 4. The initramfs: busybox, the modules to mount the root and the 9p shares.
I="$WORK/initramfs"
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lower,upper,modules}
cp "$R/bin/busybox" "$I/bin/busybox"
install -m 0755 "$HERE/initramfs-init" "$I/init"
declare -A KO=()
while IFS= read -r f; do
  n="${f##*/}"
  n="${n%.ko}"
  KO["${n//-/_}"]="$f"
done < <(find "$MODDIR" -name '*.ko')
declare -A DONE=()
ORDER=()
add_module() {
  local m="${1//-/_}" dep deps
  [ -n "${DONE[$m]:-}" ] && return 0
  DONE[$m]=1
  local f="${KO[$m]:-}"
  [ -n "$f" ] || { grep -q "/$m.ko$" "$MODDIR/modules.builtin" 2>/dev/null && return 0; log "module $m not found"; exit 1; }
  deps="$(tr '\0' '\n' <"$f" | grep -a '^depends=' | head -1 | cut -d= -f2)"
  for dep in ${deps//,/ }; do add_module "$dep"; done
  ORDER+=("$m")
  cp "$f" "$I/modules/$m.ko"
  strip_signature "$I/modules/$m.ko"
}
# Debian signs its modules; the kernel checks a signature when there is one
# (enforced or not), RSA under software emulation: seconds for a dozen
# modules. An unsigned module loads as well (CONFIG_MODULE_SIG_FORCE is off).
# Layout: module, signature, struct module_signature (12 bytes, sig_len in
# its last 4, big-endian), "~Module signature appended~\n" (28 bytes).
strip_signature() {
  local f="$1" size siglen
  [ "$(tail -c 28 "$f")" = "~Module signature appended~" ] || return 0
  size=$(stat -c %s "$f")
  siglen=$(od -An -tu1 -j $((size - 32)) -N4 "$f" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
  truncate -s $((size - 40 - siglen)) "$f"
}
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" >"$I/modules/order"
(cd "$I" && find . | LC_ALL=C sort | "$R/bin/busybox" cpio -o -H newc 2>/dev/null) >"$WORK/initramfs.cpio"

# 5. The lane: what the runner needs, and what it was made of.
mkdir "$WORK/lane"
mv "$WORK/vmlinux" "$WORK/root.img" "$WORK/initramfs.cpio" "$WORK/packages.txt" "$WORK/lane/"
printf '%s' "$inputs" >"$WORK/lane/inputs.txt"
echo "$UNAME" >"$WORK/lane/kernel-release"
rm -rf "$LANE"
mv "$WORK/lane" "$LANE"
touch "$LANE/ready"
for old in "$CACHE"/*; do
  [ "$old" = "$LANE" ] || rm -rf "$old"
done
log "built $LANE in $(( $(date +%s) - START )) s ($(du -sh "$LANE" | cut -f1))"
echo "$LANE"
