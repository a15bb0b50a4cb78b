#!/usr/bin/env bash
# Build a small container image from Debian's busybox-static with `docker import`: no registry needed.
#
# Usage: scripts/build-container-image.sh [REFERENCE]   (default portal/busybox:latest)
# Idempotent: an image of that reference already on the engine is kept.
set -euo pipefail
reference=${1:-portal/busybox:latest}
if docker image inspect "$reference" >/dev/null 2>&1; then
  echo "build-container-image.sh: up to date: $reference"
  exit 0
fi
busybox=/bin/busybox
if ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
  echo "build-container-image.sh: $busybox is not a static busybox; install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev,var/www}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo '<h1>portal busybox</h1>' >"$root/var/www/index.html"
tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
  docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$reference" >/dev/null
echo "build-container-image.sh: built $reference"
