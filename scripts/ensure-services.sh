#!/usr/bin/env bash
# For machines without Docker: makes sure the local PostgreSQL and RabbitMQ the tests use
# are up (starting them if they are installed but stopped). With a Docker engine the
# tests start their own through testcontainers and this is not needed.
set -uo pipefail
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
mq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! mq_up && command -v rabbitmq-server >/dev/null; then
  rabbitmq-server -detached || true
fi
for _ in $(seq 1 60); do
  if pg_up && mq_up; then exit 0; fi
  sleep 1
done
pg_up || echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
mq_up || echo "ensure-services: RabbitMQ is not reachable on 127.0.0.1:5672" >&2
exit 1
