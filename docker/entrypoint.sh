#!/bin/sh
# One image, every role:
#   entrypoint.sh web | worker | delivery-worker | beat | migrate (the monolith)
#   entrypoint.sh notifications-web | notifications-worker | notifications-migrate
#                                                                  (the notifications deployment)
#   entrypoint.sh <any command>
set -e
role="${1:-web}"

notifications() {
  # The notifications deployment: only its API, its own database, only its queue.
  export DJANGO_SETTINGS_MODULE=config.settings.notifications
}

case "$role" in
  web)
    exec gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --timeout 30 ;;
  worker)
    # WORKER_QUEUES=default when the notifications deployment runs apart; drop `deliveries`
    # from it when a delivery-worker runs. Threads: the tasks wait on PostgreSQL, Redis and
    # receivers far more than they compute (README "Performance"); WORKER_POOL=prefork if
    # Celery's time limits must be enforced (prefork only).
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" \
      -Q "${WORKER_QUEUES:-default,notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  delivery-worker)
    # External sends only (webhooks, email, push): I/O-bound, so threads.
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${DELIVERY_QUEUES:-deliveries}" \
      --pool "${DELIVERY_POOL:-threads}" --concurrency "${DELIVERY_CONCURRENCY:-8}" ;;
  beat)
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /app/var/celerybeat-schedule ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  notifications-web)
    notifications
    exec gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --timeout 30 ;;
  notifications-worker)
    notifications
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" -Q "${WORKER_QUEUES:-notifications,deliveries}" \
      --pool "${WORKER_POOL:-threads}" --concurrency "${WORKER_CONCURRENCY:-8}" ;;
  notifications-migrate)
    notifications
    exec python manage.py migrate --noinput ;;
  *)
    exec "$@" ;;
esac
