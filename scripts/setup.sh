#!/usr/bin/env bash
# Install and start everything the portal needs on this machine; safe and fast to run again.
#
# As root on Debian 12 it installs the system packages that are missing and
# starts libvirtd, virtlogd, dockerd and Redis when they are not running. On a
# laptop where those already run, it only prepares the Python and npm packages
# and the guest image. Python packages go into .venv, front-end ones into
# node_modules; each is reinstalled only when its lock file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=$ROOT/.state
mkdir -p "$STATE"

log() { printf '\033[1m== %s\033[0m\n' "$*"; }
as_root() { [ "$(id -u)" = 0 ]; }

SYSTEM_PACKAGES=(
  libvirt-daemon-system libvirt-dev pkg-config qemu-system-x86 qemu-utils dnsmasq-base
  docker.io chromium chromium-driver busybox-static linux-image-cloud-amd64 cpio
  python3-venv python3-dev gcc redis-server
  openssh-server  # its sshd binary, for the qemu+ssh:// integration test (which runs a private sshd)
)

install_system_packages() {
  local missing=()
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  # Node.js may come from elsewhere than Debian (with its own npm); only its commands matter.
  command -v npm >/dev/null || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return
  if ! as_root; then
    echo "Missing system packages: ${missing[*]} (install them, or run this as root)" >&2
    return 1
  fi
  log "Installing system packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

wait_for() {  # wait_for SECONDS COMMAND... : retry until the command succeeds
  local seconds=$1; shift
  for _ in $(seq "$((seconds * 2))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  "$@"
}

start_services() {
  as_root || return 0
  if ! redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379/0}" ping >/dev/null 2>&1; then
    log "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  fi
  pgrep -x virtlogd >/dev/null || { log "Starting virtlogd"; virtlogd -d; }
  pgrep -x libvirtd >/dev/null || { log "Starting libvirtd"; libvirtd -d; }
  wait_for 30 virsh -c qemu:///system version
  if ! virsh -c qemu:///system net-info default 2>/dev/null | grep -q "Active:.*yes"; then
    log "Starting the default libvirt network"
    virsh -c qemu:///system net-start default >/dev/null 2>&1 || true
    virsh -c qemu:///system net-autostart default >/dev/null 2>&1 || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "Starting dockerd"
    nohup dockerd >/var/log/portal-dockerd.log 2>&1 &
    wait_for 60 docker info
  fi
}

install_python() {
  local stamp=$STATE/requirements.sha
  local sum; sum=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
  [ -x .venv/bin/python ] || { log "Creating .venv"; python3 -m venv .venv; }
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    log "Installing Python packages"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements-dev.txt
    echo "$sum" >"$stamp"
  fi
}

install_npm() {
  local stamp=$STATE/package-lock.sha
  local sum; sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ] || [ ! -d node_modules ]; then
    log "Installing front-end packages"
    npm ci --no-audit --no-fund --silent
    echo "$sum" >"$stamp"
  fi
}

build_guest_images() {
  as_root || return 0
  scripts/build-guest-image.sh "${PORTAL_GUEST_IMAGE_DIR:-/var/lib/libvirt/images/portal-guest}"
  scripts/build-container-image.sh portal/busybox:latest
}

install_system_packages
start_services
install_python
install_npm
build_guest_images
