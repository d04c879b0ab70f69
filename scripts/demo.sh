#!/usr/bin/env bash
# One command from a fresh clone to a running container: installs what runts
# needs (Debian packages, npm dependencies), builds it, makes the demo
# bundle's rootfs from Debian's static busybox, and runs the demo container.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "run as root (runts creates namespaces and mounts)" >&2; exit 1; fi
# gcc: the build compiles the init's small waiting program (src/native/runts-wait.c).
if ! command -v busybox >/dev/null || ! [ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ] || ! command -v cc >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq busybox-static libseccomp2 gcc >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
bundle=bundle-fixtures/demo
# The demo runs in a user namespace (root inside is host uid 100000), which
# must be able to reach the rootfs: a clone under a 0700 directory such as
# /root cannot, so the bundle is copied to /var/tmp then.
reachable() {
  local d
  d=$(cd "$1" && pwd)
  while [ "$d" != / ]; do
    case "$(stat -c %A "$d")" in ????????[xt]) ;; *) return 1 ;; esac
    d=$(dirname "$d")
  done
}
if ! reachable "$bundle"; then
  copy=/var/tmp/runts-demo-bundle
  mkdir -p "$copy" && chmod 755 "$copy"
  cp "$bundle/config.json" "$copy/config.json"
  echo "($bundle is not reachable by the container's user namespace; running a copy in $copy)" >&2
  bundle=$copy
fi
rootfs=$bundle/rootfs
if [ ! -x "$rootfs/bin/busybox" ]; then
  mkdir -p "$rootfs"/{bin,proc,sys,dev,etc,tmp,root}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$rootfs/etc/group"
fi
exec ./dist/runts --root "${RUNTS_ROOT:-/run/runts}" run --bundle "$bundle" "demo-$$"
