#!/usr/bin/env bash
# PostgreSQL and RabbitMQ for the tests, `pnpm stack` and `pnpm demo` on a Debian/Ubuntu
# machine (setup.sh runs this; it can also be run alone). With a Docker engine the tests
# start their own (testcontainers) and this does nothing. Without one, a server already
# answering on the default port is used as it is; otherwise Debian's packages are
# installed and started (scripts/ensure-services.sh). A cluster this script installs
# trusts connections from 127.0.0.1 and ::1 (the default DATABASE_URL,
# postgres://postgres@127.0.0.1:5432/transcribe, has no password): it is a development
# database on this machine, reachable from it only.
# scripts/check-fresh-debian.sh runs this on a clean Debian 12 root.
set -euo pipefail
cd "$(dirname "$0")/.."
# rabbitmq-server is in /usr/sbin, which is not on a normal user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi

docker_engine() { [ -S /var/run/docker.sock ] || [ -n "${DOCKER_HOST:-}" ]; }
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
mq_answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
# A server is installed when there is a cluster (postgresql-common alone has no server).
pg_installed() { command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; }
mq_installed() { command -v rabbitmq-server >/dev/null; }

if docker_engine; then
  echo "install-services: Docker engine found: the tests start their own PostgreSQL and RabbitMQ"
  exit 0
fi

services=()
if ! pg_answers && ! pg_installed; then services+=(postgresql); fi
if ! mq_answers && ! mq_installed; then services+=(rabbitmq-server); fi
if ((${#services[@]})); then
  echo "install-services: no Docker engine and no local server: installing ${services[*]}"
  # Without network (or with a broken mirror) the lists already here may still do.
  $sudo apt-get update -qq ||
    echo "install-services: warning: apt-get update failed; trying the package lists already on this machine" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${services[@]}" >/dev/null
fi

if [[ " ${services[*]} " == *" postgresql "* ]]; then
  # The cluster the package created on the default port (pg_lsclusters: version name port ...).
  read -r version cluster < <(pg_lsclusters -h | awk '$3 == 5432 { print $1, $2; exit }') || true
  if [ -z "${version:-}" ]; then
    echo "install-services: the postgresql package created no cluster on port 5432:" >&2
    pg_lsclusters >&2
    exit 1
  fi
  hba=/etc/postgresql/$version/$cluster/pg_hba.conf
  # pg_hba.conf is first match: the trust lines go before Debian's scram-sha-256 ones.
  if ! $sudo grep -q '^# transcribe: trust local TCP' "$hba"; then
    $sudo sed -i '1i # transcribe: trust local TCP (scripts/install-services.sh)\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  # The package may have started the cluster already: make it read the new pg_hba.conf.
  if [ "$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')" = online ]; then
    $sudo pg_ctlcluster "$version" "$cluster" reload
  fi
fi

bash scripts/ensure-services.sh
