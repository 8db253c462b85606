#!/usr/bin/env bash
# For machines without Docker: makes sure the local PostgreSQL and RabbitMQ the tests use
# are up (starting them if they are installed but stopped) and waits for them, at most
# SERVICES_WAIT_S seconds (default 180: a first RabbitMQ boot on a slow, busy machine takes
# a while). With a Docker engine the tests start their own through testcontainers and
# this is not needed. Works with systemd and without it (containers, chroots).
set -uo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
wait_s=${SERVICES_WAIT_S:-180}
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -U postgres -d postgres -q 2>/dev/null; }
mq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
systemd() { [ -d /run/systemd/system ]; }
started=0 waited=0

if ! pg_up && command -v pg_lsclusters >/dev/null; then
  # Every cluster that is down (normally the one, e.g. "15 main"). pg_ctlcluster goes
  # through systemctl itself when systemd runs the machine, and starts it directly otherwise.
  while read -r version cluster; do
    echo "ensure-services: starting PostgreSQL cluster $version/$cluster"
    started=1
    $sudo pg_ctlcluster "$version" "$cluster" start </dev/null || true
  done < <(pg_lsclusters -h | awk '$4 == "down" { print $1, $2 }')
fi
if ! mq_up && command -v rabbitmq-server >/dev/null; then
  if systemd; then
    echo "ensure-services: starting RabbitMQ (systemctl start rabbitmq-server)"
    started=1
    $sudo systemctl start --no-block rabbitmq-server || true
  elif ! $sudo rabbitmqctl -q ping >/dev/null 2>&1; then
    echo "ensure-services: starting RabbitMQ (rabbitmq-server -detached)"
    started=1
    $sudo rabbitmq-server -detached || true
  fi
fi

waiting_for() {
  local w=()
  pg_up || w+=("PostgreSQL on 127.0.0.1:5432")
  mq_up || w+=("RabbitMQ on 127.0.0.1:5672")
  local IFS=,
  echo "${w[*]}"
}
start=$SECONDS
next_note=0
while :; do
  left=$(waiting_for)
  if [ -z "$left" ]; then
    ((started || waited)) && echo "ensure-services: PostgreSQL and RabbitMQ are up ($((SECONDS - start)) s)"
    exit 0
  fi
  elapsed=$((SECONDS - start))
  ((elapsed >= wait_s)) && break
  if ((elapsed >= next_note)); then
    echo "ensure-services: waiting for ${left//,/ and } (${elapsed}s of ${wait_s}s)"
    next_note=$((elapsed + 15))
  fi
  sleep 1
  waited=1
done
pg_up || {
  echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432 after ${wait_s}s" >&2
  command -v pg_lsclusters >/dev/null && pg_lsclusters >&2
}
mq_up || {
  echo "ensure-services: RabbitMQ is not reachable on 127.0.0.1:5672 after ${wait_s}s" >&2
  for log in /var/log/rabbitmq/*.log; do
    [ -r "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
}
exit 1
