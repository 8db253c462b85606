#!/usr/bin/env bash
# PostgreSQL and RabbitMQ for the tests, `pnpm stack` and `pnpm demo` (setup.sh runs this;
# it can also be run alone). With a Docker engine the tests start their own
# (testcontainers). Without one, a server already answering on the default port is used as
# it is; otherwise Debian's packages are installed. A cluster this script installs trusts
# connections from 127.0.0.1 (the default DATABASE_URL has no password): it is a
# development database on this machine, reachable from it only.
set -euo pipefail
cd "$(dirname "$0")/.."
docker_engine() { [ -S /var/run/docker.sock ] || [ -n "${DOCKER_HOST:-}" ]; }
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
mq_answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! docker_engine; then
  services=()
  if ! pg_answers && ! command -v pg_ctlcluster >/dev/null; then services+=(postgresql); fi
  if ! mq_answers && ! command -v rabbitmq-server >/dev/null; then services+=(rabbitmq-server); fi
  if ((${#services[@]})); then
    echo "install-services: no Docker engine and no local server: installing ${services[*]}"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${services[@]}" >/dev/null
    if [[ " ${services[*]} " == *" postgresql "* ]]; then
      version=$(ls /etc/postgresql | sort -V | tail -1)
      hba=/etc/postgresql/$version/main/pg_hba.conf
      $sudo sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
  fi
  bash scripts/ensure-services.sh
fi
