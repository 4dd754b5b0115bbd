#!/bin/sh
# One image, every role:
#   entrypoint.sh web | stream | worker | delivery-worker | beat | dispatcher | migrate
#                 | wait-migrations | pgbouncer                                     (the monolith)
#   entrypoint.sh notifications-web | notifications-stream | notifications-worker
#                 | notifications-migrate | notifications-wait-migrations
#                                                                 (the notifications deployment)
#   entrypoint.sh <any command>
#
# Health: bin/probe checks each role (the image's HEALTHCHECK, compose, Kubernetes probes).
# Shutdown: SIGTERM reaches the role itself (exec, PID 1): the web server (granian) stops
# gracefully within --graceful-timeout, a Celery worker finishes its running tasks (warm shutdown), beat saves its
# schedule, the dispatcher stops within 0.2 s. docs/kubernetes.md has the grace periods.
#
# Long-running roles exec their process, so the container's restart policy supervises it (its
# exit ends the container; compose restarts it: `restart: unless-stopped`). Where the runtime
# has no restart policy, SUPERVISE=1 runs the role under bin/supervise, which restarts it with
# backoff inside the container.
set -e
role="${1:-web}"

run() {
  if [ "${SUPERVISE:-0}" = "1" ]; then
    exec python /app/bin/supervise --name "$role" -- "$@"
  fi
  exec "$@"
}

metrics_dir() {
  # prometheus_client's multiprocess mode (web server workers, prefork pool processes): a directory
  # per role, its sample files removed at start (an earlier run's would add to this run's counters).
  export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus/$role}"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -type f -delete
}

notifications() {
  # The notifications deployment: only its API, its own database, only its queue.
  export DJANGO_SETTINGS_MODULE=config.settings.notifications
}

serve_web() {
  # granian (config/server.py), chosen by measurement (bench/README.md): keep-alive, HTTP parsed
  # natively, a 10 s limit to send a request head and a 32 KB limit on its size, a request with
  # both Content-Length and Transfer-Encoding answered and its connection closed.
  # --graceful-timeout: what a request in flight gets after SIGTERM (Kubernetes:
  # terminationGracePeriodSeconds = preStop sleep + this + a margin). --timeout: a request
  # running longer ends its worker, which is replaced (config/watchdog.py). The access line per
  # request is written by the app (it carries the request and trace ids).
  run python -m config.server web --port "${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}" \
    --threads "${WEB_THREADS:-2}" --timeout 30 --graceful-timeout 30
}

serve_stream() {
  # The live inbox (Server-Sent Events) under ASGI: granian on config.asgi, where an open stream
  # is a coroutine, not a thread held for hours. Only its path is routed here (the web role
  # answers it too, but ends each response at once: see apps/notifications/api/stream.py).
  # --graceful-timeout 10: streams never end on their own; after it they are closed and clients
  # reconnect elsewhere with Last-Event-ID.
  run python -m config.server stream --port "${PORT:-8000}" --workers "${STREAM_CONCURRENCY:-2}" \
    --graceful-timeout 10
}

pgbouncer_role() {
  # Transaction pooling in front of PostgreSQL (PGBOUNCER_UPSTREAM_URL: the direct URL, whose
  # user and password clients use too). Config and auth file in /tmp (read-only root fs).
  python - <<'PY'
import os, urllib.parse
url = urllib.parse.urlsplit(os.environ["PGBOUNCER_UPSTREAM_URL"])
user, password = urllib.parse.unquote(url.username or ""), urllib.parse.unquote(url.password or "")
with open("/tmp/pgbouncer-users.txt", "w") as f:
    f.write(f'"{user}" "{password}"\n')
os.chmod("/tmp/pgbouncer-users.txt", 0o600)
with open("/tmp/pgbouncer.ini", "w") as f:
    f.write(f"""[databases]
* = host={url.hostname} port={url.port or 5432}
[pgbouncer]
listen_addr = 0.0.0.0
listen_port = {os.environ.get("PGBOUNCER_PORT", "6432")}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /tmp/pgbouncer-users.txt
pool_mode = transaction
default_pool_size = {os.environ.get("PGBOUNCER_POOL_SIZE", "20")}
max_client_conn = {os.environ.get("PGBOUNCER_MAX_CLIENT_CONN", "1000")}
ignore_startup_parameters = extra_float_digits
""")
PY
  exec pgbouncer /tmp/pgbouncer.ini
}

wait_migrations() {
  # An init container: the role's code never runs on a schema older than it (the migrate Job
  # may still be running). `migrate --check` exits non-zero while a migration is unapplied.
  until python manage.py migrate --check >/dev/null; do
    echo "waiting for migrations (the migrate job) ..."
    sleep 5
  done
  echo "migrations are applied"
}

case "$role" in
  web)
    metrics_dir
    serve_web ;;
  stream)
    metrics_dir
    serve_stream ;;
  worker)
    # WORKER_QUEUES=default when the notifications deployment runs apart; drop `deliveries`
    # from it when a delivery-worker runs. Threads: the tasks wait on PostgreSQL, Redis and
    # receivers far more than they compute (README "Performance"); WORKER_POOL=prefork if
    # Celery's time limits must be enforced (prefork only).
    metrics_dir
    run celery -A config -q worker --loglevel "${LOG_LEVEL:-INFO}" \
      -Q "${WORKER_QUEUES:-default,notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  delivery-worker)
    # External sends only (webhooks, email, push): I/O-bound, so threads.
    metrics_dir
    run celery -A config -q worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${DELIVERY_QUEUES:-deliveries}" \
      --pool "${DELIVERY_POOL:-threads}" --concurrency "${DELIVERY_CONCURRENCY:-8}" ;;
  beat)
    # The schedule file is CELERY_BEAT_SCHEDULE_FILENAME (default var/celerybeat-schedule).
    # --enable-remote-control: beat answers `celery inspect ping` (bin/probe beat) while its
    # scheduler ticks; --max-interval 30 makes it tick at least every 30 s, so it goes silent
    # after 60 s stuck (Celery's limit: twice the interval, at least 60 s) instead of 10 minutes.
    run celery -A config -q beat --loglevel "${LOG_LEVEL:-INFO}" --enable-remote-control --max-interval 30 ;;
  dispatcher)
    # Sends the outbox to the broker as soon as a transaction commits (LISTEN outbox_events);
    # the beat relay is only the safety net. Several may run (SKIP LOCKED).
    run python manage.py outbox_dispatcher ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  wait-migrations)
    wait_migrations ;;
  pgbouncer)
    pgbouncer_role ;;
  notifications-web)
    notifications
    metrics_dir
    serve_web ;;
  notifications-stream)
    notifications
    metrics_dir
    serve_stream ;;
  notifications-worker)
    notifications
    metrics_dir
    run celery -A config -q worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${WORKER_QUEUES:-notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  notifications-migrate)
    notifications
    exec python manage.py migrate --noinput ;;
  notifications-wait-migrations)
    notifications
    wait_migrations ;;
  *)
    exec "$@" ;;
esac
