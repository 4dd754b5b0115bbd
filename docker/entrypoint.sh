#!/bin/sh
# Usage: entrypoint.sh web|worker|beat|migrate|notifications-web|notifications-worker|<command>
set -e
role="${1:-web}"
case "$role" in
  web)
    exec gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --access-logfile - --timeout 30 ;;
  worker)
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" -Q default,notifications \
      --concurrency "${WORKER_CONCURRENCY:-2}" ;;
  beat)
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" --schedule /app/var/celerybeat-schedule ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  *)
    exec "$@" ;;
esac
