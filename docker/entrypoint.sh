#!/bin/sh
# One image, every role:
#   entrypoint.sh web | worker | delivery-worker | beat | dispatcher | migrate (the monolith)
#   entrypoint.sh notifications-web | notifications-worker | notifications-migrate
#                                                                  (the notifications deployment)
#   entrypoint.sh <any command>
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
  # prometheus_client's multiprocess mode (gunicorn workers, prefork pool processes): a directory
  # per role, its sample files removed at start (an earlier run's would add to this run's counters).
  export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/app/var/prometheus/$role}"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -type f -delete
}

notifications() {
  # The notifications deployment: only its API, its own database, only its queue.
  export DJANGO_SETTINGS_MODULE=config.settings.notifications
}

case "$role" in
  web)
    metrics_dir
    run gunicorn -c /app/config/gunicorn.py config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --timeout 30 ;;
  worker)
    # WORKER_QUEUES=default when the notifications deployment runs apart; drop `deliveries`
    # from it when a delivery-worker runs. Threads: the tasks wait on PostgreSQL, Redis and
    # receivers far more than they compute (README "Performance"); WORKER_POOL=prefork if
    # Celery's time limits must be enforced (prefork only).
    metrics_dir
    run celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" \
      -Q "${WORKER_QUEUES:-default,notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  delivery-worker)
    # External sends only (webhooks, email, push): I/O-bound, so threads.
    metrics_dir
    run celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${DELIVERY_QUEUES:-deliveries}" \
      --pool "${DELIVERY_POOL:-threads}" --concurrency "${DELIVERY_CONCURRENCY:-8}" ;;
  beat)
    run celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /app/var/celerybeat-schedule ;;
  dispatcher)
    # Sends the outbox to the broker as soon as a transaction commits (LISTEN outbox_events);
    # the beat relay is only the safety net. Several may run (SKIP LOCKED).
    run python manage.py outbox_dispatcher ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  notifications-web)
    notifications
    metrics_dir
    run gunicorn -c /app/config/gunicorn.py config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --timeout 30 ;;
  notifications-worker)
    notifications
    metrics_dir
    run celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${WORKER_QUEUES:-notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  notifications-migrate)
    notifications
    exec python manage.py migrate --noinput ;;
  *)
    exec "$@" ;;
esac
