#!/usr/bin/env bash
# Checks scripts/install-services.sh on a clean Debian 12 (bookworm) machine with no
# PostgreSQL, no RabbitMQ and no Docker engine, without touching this host's own servers:
#   1. debootstrap --variant=minbase bookworm into a fresh directory (needs network);
#   2. inside that root, with this host's network: apt-get update and
#      apt-get install --download-only sudo postgresql rabbitmq-server (the .debs are cached);
#   3. in its own network, mount, PID and UTS namespaces (only `lo`, so this host's 5432
#      and 5672 are not visible; no network, so apt has only its cache), chrooted:
#      checks nothing answers on 5432/5672, installs sudo and makes a user "dev" who may use
#      it (as a developer running setup.sh would be; CHECK_AS=root runs it as root instead),
#      runs install-services.sh as that user, from a login shell (its apt-get update
#      fails offline, which it tolerates), then checks `psql -h 127.0.0.1 -U postgres`
#      works without a password and can CREATE DATABASE, and that an AMQP 0-9-1 connection
#      to 127.0.0.1:5672 as guest/guest opens vhost / (with this host's node, copied in);
#      then runs install-services.sh again, which must do nothing and succeed;
#   4. removes the directory (the namespaces took their mounts and processes with them).
# Not part of `pnpm test`: it needs root, debootstrap (apt-get install debootstrap),
# node on this host, network to a Debian mirror, 2-5 minutes (1.5 on 2 busy cores:
# debootstrap 50-75 s, download 5 s, install 30-60 s, start 15 s) and 1 GB of disk.
# Rerun:  sudo bash scripts/check-fresh-debian.sh
# Environment: CHECK_DIR (default: a new /var/tmp/check-fresh-debian.XXXXXX),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), KEEP=1 keeps the directory,
# ROOT_TEMPLATE=dir copies a root left by an earlier run with KEEP=1 (or any bookworm
# root whose apt cache has the .debs) instead of steps 1 and 2, to iterate on the scripts;
# ALLOW_SERVICE_START=1 lets the packages' postinst start the servers, as systemd does on
# a real machine (by default a policy-rc.d forbids it, as in a container, so
# install-services.sh has to start them itself).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" -eq 0 ] || { echo "check-fresh-debian: needs root (debootstrap, chroot, namespaces)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "check-fresh-debian: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
node=$(command -v node) || { echo "check-fresh-debian: needs node on this host (the AMQP check)" >&2; exit 1; }
node=$(readlink -f "$node")

dir=${CHECK_DIR:-$(mktemp -d /var/tmp/check-fresh-debian.XXXXXX)}
mkdir -p "$dir"
root=$dir/root
log() { echo "check-fresh-debian: $*"; }

cleanup() {
  local rc=$?
  # Every mount is made inside a private mount namespace and goes with it; check anyway,
  # and never rm -rf a tree that still has something mounted in it.
  if findmnt -rn -o TARGET | grep -q "^$dir/"; then
    log "something is still mounted under $dir; not removing it:" >&2
    findmnt -rn -o TARGET | grep "^$dir/" >&2
  elif [ "${KEEP:-0}" = 1 ]; then
    log "kept $dir"
  else
    rm -rf --one-file-system "$dir"
  fi
  exit "$rc"
}
trap cleanup EXIT

t0=$SECONDS
if [ -n "${ROOT_TEMPLATE:-}" ]; then
  log "copying $ROOT_TEMPLATE to $root"
  cp -a "$ROOT_TEMPLATE" "$root"
else
  log "debootstrap bookworm ($mirror) into $root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
    { tail -n 20 "$dir/debootstrap.log" >&2; exit 1; }
fi
t_debootstrap=$((SECONDS - t0))
# What a fresh Debian install has (the installer writes /etc/hosts).
echo fresh-debian >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tfresh-debian\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# invoke-rc.d: 101 forbids the packages' postinst to start a server, 0 allows it (with no
# init system and no policy-rc.d it would refuse by itself).
printf '#!/bin/sh\nexit %s\n' "$([ "${ALLOW_SERVICE_START:-0}" = 1 ] && echo 0 || echo 101)" >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

# A clean environment in the chroot, as a root login would have.
in_root=(chroot "$root" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  LANG=C.UTF-8 TERM=dumb)

t0=$SECONDS
[ -n "${ROOT_TEMPLATE:-}" ] || {
log "downloading sudo, postgresql and rabbitmq-server into the root's apt cache (host network)"
unshare --mount --pid --fork bash -c '
  mount -t proc proc "$1/proc"; shift
  "$@" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only --no-install-recommends sudo postgresql rabbitmq-server"
' _ "$root" "${in_root[@]}" >"$dir/download.log" 2>&1 || { tail -n 20 "$dir/download.log" >&2; exit 1; }
}
t_download=$((SECONDS - t0))

mkdir -p "$root/opt/repo/scripts"
cp "$repo/scripts/install-services.sh" "$repo/scripts/ensure-services.sh" "$root/opt/repo/scripts/"
echo "${CHECK_AS:-user}" >"$root/root/check-as"
cp "$node" "$root/usr/local/bin/node"
cat >"$root/root/amqp-check.js" <<'EOF'
// Opens an AMQP 0-9-1 connection as guest/guest to vhost "/" with no library: protocol
// header, Start/Start-Ok (PLAIN), Tune/Tune-Ok, Open/Open-Ok, Close/Close-Ok.
const net = require('net');
const [host, port, user, pass] = ['127.0.0.1', 5672, 'guest', 'guest'];
const shortstr = (s) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const longstr = (b) => Buffer.concat([u32(b.length), b]);
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const method = (cls, m, ...args) => {
  const payload = Buffer.concat([u16(cls), u16(m), ...args]);
  return Buffer.concat([Buffer.from([1]), u16(0), u32(payload.length), payload, Buffer.from([0xce])]);
};
const fail = (msg) => { console.error('amqp-check: ' + msg); process.exit(1); };
const sock = net.connect(port, host, () => sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'binary')));
let buf = Buffer.alloc(0);
setTimeout(() => fail('timed out'), 15000).unref();
sock.on('error', (e) => fail(e.message));
sock.on('close', () => fail('the server closed the connection (credentials refused?)'));
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(3)) {
    const size = buf.readUInt32BE(3), type = buf[0], p = buf.subarray(7, 7 + size);
    buf = buf.subarray(8 + size);
    if (type !== 1) continue;
    const cls = p.readUInt16BE(0), m = p.readUInt16BE(2);
    if (cls === 10 && m === 10) {
      sock.write(method(10, 11, u32(0), shortstr('PLAIN'), longstr(Buffer.from(`\0${user}\0${pass}`)), shortstr('en_US')));
    } else if (cls === 10 && m === 30) {
      sock.write(method(10, 31, u16(p.readUInt16BE(4)), u32(p.readUInt32BE(6)), u16(0)));
      sock.write(method(10, 40, shortstr('/'), shortstr(''), Buffer.from([0])));
    } else if (cls === 10 && m === 41) {
      sock.write(method(10, 50, u16(200), shortstr('bye'), u16(0), u16(0)));
    } else if (cls === 10 && m === 51) {
      console.log(`amqp-check: connected to ${host}:${port} as ${user}, opened vhost /`);
      sock.removeAllListeners('close'); sock.end(); process.exit(0);
    } else if (cls === 10 && m === 50) {
      fail(`connection closed by the server: ${p.readUInt16BE(4)} ${p.subarray(7, 7 + p[6])}`);
    }
  }
});
EOF
cat >"$root/root/check.sh" <<'EOF'
set -uo pipefail
fail() { echo "check: FAILED: $*" >&2; exit 1; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers 5432 && fail "something answers on 127.0.0.1:5432 before the install (not isolated?)"
answers 5672 && fail "something answers on 127.0.0.1:5672 before the install (not isolated?)"
if [ "$(cat /root/check-as)" = root ]; then
  run() { bash /opt/repo/scripts/install-services.sh; }
else
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sudo >/dev/null 2>&1 || fail "installing sudo"
  useradd -m -s /bin/bash dev && echo 'dev ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/dev || fail "making the user dev"
  chown -R dev: /opt/repo
  run() { su - dev -c 'bash /opt/repo/scripts/install-services.sh'; }
  echo "check: running install-services.sh as dev, a user with sudo"
fi
t0=$SECONDS
run || fail "install-services.sh exited with $?"
echo "check: install-services.sh took $((SECONDS - t0)) s"
psql -h 127.0.0.1 -U postgres -w -Atc 'select 1' | grep -qx 1 || fail "psql -h 127.0.0.1 -U postgres (no password)"
psql -h 127.0.0.1 -U postgres -w -qc 'create database transcribe' || fail "CREATE DATABASE"
psql -w -Atc 'select current_database()' postgres://postgres@127.0.0.1:5432/transcribe | grep -qx transcribe ||
  fail "connect with the default DATABASE_URL"
echo "check: PostgreSQL: passwordless psql as postgres over 127.0.0.1, CREATE DATABASE transcribe, connected to it"
node /root/amqp-check.js || fail "AMQP connection as guest"
rabbitmqctl -q status >/dev/null || fail "rabbitmqctl status"
echo "check: RabbitMQ: rabbitmqctl status ok"
t0=$SECONDS
out=$(run 2>&1) || { echo "$out"; fail "install-services.sh, second run"; }
[ -z "$out" ] || { echo "$out"; fail "install-services.sh, second run, should do nothing and say nothing"; }
echo "check: second run of install-services.sh did nothing ($((SECONDS - t0)) s)"
echo "check: OK"
EOF

t0=$SECONDS
log "running install-services.sh in the root, in its own network namespace (lo only)"
set +e
unshare --net --mount --pid --uts --fork bash -c '
  set -e
  ip link set lo up 2>/dev/null || { command -v ifconfig >/dev/null && ifconfig lo up; }
  hostname fresh-debian
  root=$1; shift
  mount -t proc proc "$root/proc"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
  mount -t tmpfs tmpfs "$root/tmp" && chmod 1777 "$root/tmp"
  mount -t tmpfs tmpfs "$root/run" && chmod 755 "$root/run"
  "$@" bash /root/check.sh
' _ "$root" "${in_root[@]}" 2>&1 | tee "$dir/check.log"
rc=${PIPESTATUS[0]}
set -e
t_check=$((SECONDS - t0))
log "times: debootstrap ${t_debootstrap}s, download ${t_download}s, install+start+checks ${t_check}s; disk $(du -sh --one-file-system "$dir" | cut -f1)"
if [ "$rc" -eq 0 ]; then log "OK"; else log "FAILED (see above)"; fi
exit "$rc"
