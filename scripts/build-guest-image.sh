#!/usr/bin/env bash
#
# build-guest-image.sh - build a tiny bootable guest for QEMU direct kernel boot.
#
# Usage: scripts/build-guest-image.sh OUTPUT_DIR
#
# Produces, without downloading anything:
#   OUTPUT_DIR/vmlinuz            copy of the newest /boot/vmlinuz-*-cloud-amd64
#                                 (Debian package: linux-image-cloud-amd64)
#   OUTPUT_DIR/initramfs.cpio.gz  gzip'ed newc cpio built around /bin/busybox
#                                 (Debian package: busybox-static) plus the
#                                 kernel modules of GUEST_MODULES (below) and
#                                 their dependencies from
#                                 /lib/modules/<version of that kernel>
#
# Kernel command line to boot it with (the portal passes it in the domain XML
# as <os><cmdline>):
#
#   console=ttyS0 panic=-1 quiet
#
# The guest's /init mounts proc, sysfs and devtmpfs, loads the ACPI power
# button and evdev drivers, starts busybox acpid, prints the fixed line
#   portal-guest: booted
# on the console (ttyS0) and then runs an interactive busybox shell on the
# console forever (the shell is restarted whenever it exits; PID 1 never exits).
# Once the banner is out, the guest honours ACPI requests:
#   - ACPI power button (virsh shutdown, and virsh reboot, which libvirt does
#     for QEMU as power button + reset): prints `portal-guest: powering off`
#     and powers off at once (poweroff -f);
#   - busybox `poweroff`/`halt` in the guest (SIGUSR2/SIGUSR1 to PID 1): the
#     same;
#   - busybox `reboot` in the guest (SIGTERM to PID 1) and Ctrl-Alt-Del
#     (SIGINT to PID 1): prints `portal-guest: rebooting` and reboots at once
#     (reboot -f).
#
# First boot (cloud-init's NoCloud source, the part this guest needs): when the
# VM has a CD-ROM on a virtio-scsi controller, /init waits up to 5 s for it,
# mounts it read-only and, if it holds meta-data and user-data (the portal
# writes them; see hypervisors/vms/cloud_init.py), runs /sbin/portal-seed:
#   - hostname: user-data `hostname:` wins over meta-data `local-hostname:`;
#   - user-data `ssh_authorized_keys:` -> /root/.ssh/authorized_keys;
#   - user-data `runcmd:` (the list-of-strings form only), each line run with
#     sh -c, in order, output on the console.
# The parser is awk on the layout PyYAML writes (top-level keys at column 0,
# list items as `- item`, plain or quoted scalars); it is no YAML parser.
# Without a virtio-scsi controller nothing is waited for. Then the first
# network card (virtio_net, eth0) takes a DHCP lease with busybox udhcpc in
# the background (/sbin/portal-dhcp configures the address and route), so the
# host's DHCP server (libvirt's lease table) knows the guest's address. All of
# this but the lease happens before the banner below is printed.
#
# Idempotent: when both outputs exist and are newer than the kernel, the
# busybox binary, the kernel modules and this script, nothing is done. Outputs
# are written to temporary files in OUTPUT_DIR and renamed into place
# atomically. All outputs are world-readable, because QEMU under libvirt runs
# as user libvirt-qemu. Reproducible: the same inputs give byte-identical
# outputs (file times in the initramfs are set to $SOURCE_DATE_EPOCH, default 0).

set -euo pipefail

KERNEL_CMDLINE='console=ttyS0 panic=-1 quiet'   # documentation; see header
BUSYBOX=/bin/busybox
BANNER='portal-guest: booted'
# Kernel modules the guest loads, in load order (dependencies are added and
# loaded first automatically): ACPI power button, and evdev so acpid can read
# the button's input events; virtio_pci and virtio_balloon so memory resized
# while the guest runs really reaches it; virtio_net for the network card
# and af_packet, which udhcpc needs (built into the cloud kernel); virtio_scsi,
# sr_mod and isofs to read the first-boot seed from its CD-ROM (cdrom, scsi_mod
# come as their dependencies). One built into the kernel is skipped.
GUEST_MODULES='evdev button virtio_pci virtio_balloon af_packet virtio_net virtio_scsi sr_mod isofs'

prog=${0##*/}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$prog" "$*" >&2; }

[ "$#" -eq 1 ] && [ -n "$1" ] || { echo "usage: $prog OUTPUT_DIR" >&2; exit 2; }
outdir=$1

for tool in cpio gzip find sort touch modinfo; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found in PATH"
done

# Newest cloud kernel (version sort on the file names).
kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -type f 2>/dev/null \
         | sort -V | tail -n 1)
[ -n "$kernel" ] || die "no /boot/vmlinuz-*-cloud-amd64 found; install it with: apt-get install linux-image-cloud-amd64"
[ -r "$kernel" ] || die "kernel $kernel is not readable (run as root?)"
kver=${kernel##*/vmlinuz-}
moddir=/lib/modules/$kver
[ -d "$moddir" ] || die "no $moddir for kernel $kernel; reinstall linux-image-$kver"

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found; install it with: apt-get install busybox-static"
# Must be a static busybox: the initramfs contains no shared libraries.
if "$BUSYBOX" --list >/dev/null 2>&1; then :; else die "$BUSYBOX does not work"; fi
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi

# Resolve the guest's modules (and their dependencies, depth first) to files
# of exactly this kernel version.
modfiles=()      # in load order
modnames=()
resolve_module() {
    local name=$1 file deps dep m
    for m in "${modnames[@]}"; do [ "$m" = "$name" ] && return 0; done
    file=$(modinfo -k "$kver" -F filename "$name" 2>/dev/null) ||
        die "kernel module '$name' not found for $kver (modinfo -k $kver $name)"
    case $file in
        /*) ;;
        *)  # built into this kernel (modinfo says "(builtin)"): nothing to copy or load
            log "kernel module '$name' is built into $kver"
            modnames+=("$name"); return 0 ;;
    esac
    [ -r "$file" ] || die "kernel module file $file is not readable"
    deps=$(modinfo -k "$kver" -F depends "$name")
    for dep in ${deps//,/ }; do resolve_module "$dep"; done
    modnames+=("$name")
    modfiles+=("$file")
}
for m in $GUEST_MODULES; do resolve_module "$m"; done

out_kernel=$outdir/vmlinuz
out_initrd=$outdir/initramfs.cpio.gz

# Is $1 newer than every other argument?
newer_than_all() {
    local target=$1 dep; shift
    [ -e "$target" ] || return 1
    for dep in "$@"; do
        [ "$target" -nt "$dep" ] || return 1
    done
}

self=$0
[ -f "$self" ] || self=$kernel   # sourced/odd invocation: ignore the script mtime
if newer_than_all "$out_kernel" "$kernel" "$self" &&
   newer_than_all "$out_initrd" "$kernel" "$BUSYBOX" "$self" "${modfiles[@]}"; then
    log "up to date: $out_kernel $out_initrd"
    exit 0
fi

umask 022
mkdir -p "$outdir"
chmod a+rx "$outdir"

stage=
tmp_kernel=
tmp_initrd=
cleanup() {
    [ -n "$stage" ] && rm -rf "$stage"
    [ -n "$tmp_kernel" ] && rm -f "$tmp_kernel"
    [ -n "$tmp_initrd" ] && rm -f "$tmp_initrd"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- kernel -------------------------------------------------------------
tmp_kernel=$(mktemp "$outdir/.vmlinuz.XXXXXX")
cp "$kernel" "$tmp_kernel"
chmod 0644 "$tmp_kernel"

# ---- initramfs ----------------------------------------------------------
stage=$(mktemp -d "${TMPDIR:-/tmp}/portal-guest-initramfs.XXXXXX")
chmod 0755 "$stage"
mkdir -p "$stage"/bin "$stage"/sbin "$stage"/usr/bin "$stage"/usr/sbin \
         "$stage"/dev "$stage"/proc "$stage"/sys "$stage"/tmp "$stage"/run \
         "$stage"/root "$stage"/etc
chmod 1777 "$stage"/tmp
cp "$BUSYBOX" "$stage"/bin/busybox
chmod 0755 "$stage"/bin/busybox

# Applet symlinks (init also runs `busybox --install -s` as a fallback).
"$BUSYBOX" --list-full | while IFS= read -r applet; do
    [ -n "$applet" ] || continue
    [ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] && continue
    case $applet in */*) mkdir -p "$stage/${applet%/*}" ;; esac
    ln -s /bin/busybox "$stage/$applet"
done

# Device nodes needed before devtmpfs is mounted (only possible as root; the
# kernel's built-in initramfs provides /dev/console anyway).
mknod -m 0600 "$stage"/dev/console c 5 1 2>/dev/null || true
mknod -m 0666 "$stage"/dev/null c 1 3 2>/dev/null || true

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage"/etc/passwd
printf 'root:x:0:\n' >"$stage"/etc/group
printf 'portal-guest\n' >"$stage"/etc/hostname

# Kernel modules, uncompressed (busybox insmod may not read compressed ones),
# as /lib/modules/NN-NAME.ko so that a glob gives the load order.
mkdir -p "$stage"/lib/modules
i=0
for file in "${modfiles[@]}"; do
    name=${file##*/}; name=${name%%.ko*}
    dest=$(printf '%s/lib/modules/%02d-%s.ko' "$stage" "$i" "$name")
    case $file in
        *.ko)     cp "$file" "$dest" ;;
        *.ko.xz)  xz -dc "$file" >"$dest" ;;
        *.ko.zst) zstd -qdc "$file" >"$dest" ;;
        *.ko.gz)  gzip -dc "$file" >"$dest" ;;
        *) die "unsupported kernel module file $file" ;;
    esac
    chmod 0644 "$dest"
    i=$((i + 1))
done

# One helper for every way of stopping the guest: say so on the console, then
# power off / reboot at once (no disks, nothing to unmount).
cat >"$stage"/sbin/portal-power <<'EOF'
#!/bin/sh
# usage: portal-power poweroff|reboot
case $1 in
    reboot) msg='portal-guest: rebooting' ;;
    *)      set -- poweroff; msg='portal-guest: powering off' ;;
esac
echo "$msg" >/dev/console
sync
usleep 100000     # let the serial port drain the line before the VM stops
exec "$1" -f
EOF
chmod 0755 "$stage"/sbin/portal-power

# busybox acpid maps the power button (KEY_POWER from the ACPI button's input
# device) to the action PWRF/00000080 and runs /etc/acpi/PWRF/00000080.
mkdir -p "$stage"/etc/acpi/PWRF
cat >"$stage"/etc/acpi/PWRF/00000080 <<'EOF'
#!/bin/sh
exec /sbin/portal-power poweroff
EOF
chmod 0755 "$stage"/etc/acpi/PWRF/00000080

# The first-boot seed: hostname, root's SSH keys, runcmd (see the header).
cat >"$stage"/sbin/portal-seed <<'EOF'
#!/bin/sh
# usage: portal-seed DIR   (DIR holds meta-data and user-data of a NoCloud seed)
dir=$1
q="'"
# value KEY FILE: the top-level scalar KEY, quotes removed.
value() {
    awk -v key="$1" -v q="$q" 'index($0, key ": ") == 1 { v = substr($0, length(key) + 3); sub(/[ \t]+$/, "", v)
        if (v ~ /^".*"$/ || (substr(v, 1, 1) == q && substr(v, length(v)) == q)) v = substr(v, 2, length(v) - 2)
        print v; exit }' "$2"
}
# items KEY FILE: the items of the top-level list KEY, one a line, quotes removed.
items() {
    awk -v key="$1:" -v q="$q" '/^[^ \t#-]/ { inlist = ($0 == key); next }
        inlist && /^[ \t]*- / { v = $0; sub(/^[ \t]*- /, "", v); sub(/[ \t]+$/, "", v)
            if (v ~ /^".*"$/) v = substr(v, 2, length(v) - 2)
            else if (substr(v, 1, 1) == q && substr(v, length(v)) == q) { v = substr(v, 2, length(v) - 2); gsub(q q, q, v) }
            print v }' "$2"
}
name=$(value hostname "$dir/user-data")
[ -n "$name" ] || name=$(value local-hostname "$dir/meta-data")
case $name in
    '') ;;
    *[!A-Za-z0-9.-]*) echo "portal-guest: hostname '$name' ignored" ;;
    *) echo "$name" >/etc/hostname; hostname "$name"; echo "portal-guest: hostname $name" ;;
esac
keys=$(items ssh_authorized_keys "$dir/user-data")
if [ -n "$keys" ]; then
    mkdir -p /root/.ssh && chmod 0700 /root/.ssh
    printf '%s\n' "$keys" >/root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys
    echo "portal-guest: $(printf '%s\n' "$keys" | wc -l) authorized key(s)"
fi
items runcmd "$dir/user-data" >/run/runcmd
while IFS= read -r line; do
    [ -n "$line" ] && sh -c "$line" </dev/null
done </run/runcmd
EOF
chmod 0755 "$stage"/sbin/portal-seed

# udhcpc's hook: configure the address and default route it leased.
cat >"$stage"/sbin/portal-dhcp <<'EOF'
#!/bin/sh
case $1 in
    deconfig) ifconfig "$interface" 0.0.0.0 up ;;
    bound|renew)
        ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
        if [ -n "$router" ]; then
            route del default 2>/dev/null
            route add default gw "${router%% *}" dev "$interface"
        fi
        [ "$1" = bound ] && echo "portal-guest: leased $ip on $interface" >/dev/console ;;
esac
exit 0
EOF
chmod 0755 "$stage"/sbin/portal-dhcp

cat >"$stage"/init <<EOF
#!/bin/busybox sh
# /init of the portal test guest (kernel cmdline: $KERNEL_CMDLINE)
/bin/busybox mount -t proc -o nosuid,nodev,noexec proc /proc
/bin/busybox mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
/bin/busybox mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
/bin/busybox mkdir -p /dev/pts
/bin/busybox mount -t devpts devpts /dev/pts 2>/dev/null
[ -x /bin/sh ] || /bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=linux
exec </dev/console >/dev/console 2>&1
hostname -F /etc/hostname 2>/dev/null
# ACPI power button -> acpid -> /etc/acpi/PWRF/00000080 -> portal-power.
for m in /lib/modules/*.ko; do
    [ -e "\$m" ] && insmod "\$m"
done
# (acpid daemonizes before opening /dev/input/event*, so check those first.)
if [ -e /dev/input/event0 ] && acpid -l /run/acpid.log -p /run/acpid.pid; then :
else echo 'portal-guest: warning: no acpid, ACPI power button ignored'; fi
# First-boot seed: only a VM with a virtio-scsi controller has one (its CD-ROM).
if ls /sys/bus/virtio/drivers/virtio_scsi/ 2>/dev/null | grep -q virtio; then
    i=0
    while [ ! -b /dev/sr0 ] && [ \$i -lt 50 ]; do usleep 100000; i=\$((i + 1)); done
    mkdir -p /run/seed
    if mount -t iso9660 -o ro /dev/sr0 /run/seed 2>/dev/null && [ -f /run/seed/meta-data ]; then
        /sbin/portal-seed /run/seed
    else echo 'portal-guest: warning: no first-boot seed found'; fi
fi
ifconfig lo 127.0.0.1 up 2>/dev/null
# DHCP on the first card, in the background: the boot does not wait for a lease.
if [ -e /sys/class/net/eth0 ]; then
    ifconfig eth0 up
    udhcpc -f -S -i eth0 -s /sbin/portal-dhcp -t 10 -T 2 -A 5 >/dev/null 2>&1 &
fi
# busybox poweroff/halt/reboot signal PID 1; Ctrl-Alt-Del sends it SIGINT.
trap '/sbin/portal-power poweroff' USR1 USR2
trap '/sbin/portal-power reboot' TERM INT
echo 0 >/proc/sys/kernel/ctrl-alt-del
echo '$BANNER'
cd /root
while :; do
    # In the background, so that the traps above run while the shell is up.
    setsid cttyhack sh -l </dev/console >/dev/console 2>&1 &
    pid=\$!
    while kill -0 \$pid 2>/dev/null; do wait \$pid; done
    sleep 1
done
EOF
chmod 0755 "$stage"/init

# Fixed file times, for a reproducible archive.
find "$stage" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +

tmp_initrd=$(mktemp "$outdir/.initramfs.cpio.gz.XXXXXX")
(
    cd "$stage"
    find . -mindepth 1 -print0 | LC_ALL=C sort -z \
        | cpio --quiet --null -o -H newc --owner=0:0 --reproducible
) | gzip -9 -n >"$tmp_initrd"
chmod 0644 "$tmp_initrd"

# ---- install atomically ---------------------------------------------------
mv -f "$tmp_kernel" "$out_kernel";  tmp_kernel=
mv -f "$tmp_initrd" "$out_initrd";  tmp_initrd=
log "built $out_kernel (from $kernel) and $out_initrd"
log "kernel command line: $KERNEL_CMDLINE"
