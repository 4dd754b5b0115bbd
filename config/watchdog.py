"""The web role's WSGI application under a stuck-request watchdog (``config.server``'s target).

A thread cannot be stopped from outside in Python, and a request stuck in a C call (a socket
read, a lock wait in the database driver) would hold its worker thread forever. As gunicorn's
``--timeout`` did with a sync worker, the worker process ends instead: the watchdog logs the
method, path, request id and stack of every request past ``WEB_REQUEST_TIMEOUT`` seconds and
exits the process, and granian (``respawn_failed_workers``) starts a fresh worker. The other
requests in flight in that worker end with it (their clients see the connection close), so
the limit is set well above any request's normal time.

The timer covers the application call (middleware, view, rendering); a streamed body's
iteration is the server's and is not timed (the web role's streams end at once).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
import traceback

from django.urls import get_resolver

from config.wsgi import application as django_application

logger = logging.getLogger("config.watchdog")

# Exit status of a worker ended by the watchdog (EX_SOFTWARE).
EXIT_STATUS = 70


class RequestWatchdog:
    def __init__(self, app, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        # thread id -> (started, method, path, request id); one entry per request in flight.
        self._running: dict[int, tuple[float, str, str, str]] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self._thread is None:
            self._start()
        ident = threading.get_ident()
        self._running[ident] = (
            time.monotonic(),
            environ.get("REQUEST_METHOD", ""),
            environ.get("PATH_INFO", ""),
            environ.get("HTTP_X_REQUEST_ID", ""),
        )
        try:
            return self.app(environ, start_response)
        finally:
            self._running.pop(ident, None)

    def _start(self) -> None:
        # Started by the first request, in the worker process (never in a parent that forks).
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="request-watchdog", daemon=True)
                self._thread.start()

    def _watch(self) -> None:
        interval = min(1.0, self.timeout / 4)
        while True:
            time.sleep(interval)
            now = time.monotonic()
            stuck = [(ident, *entry) for ident, entry in list(self._running.items()) if now - entry[0] > self.timeout]
            if stuck:
                self._exit(stuck, now)

    def _exit(self, stuck, now: float) -> None:
        frames = sys._current_frames()
        for ident, started, method, path, request_id in stuck:
            stack = "".join(traceback.format_stack(frames[ident])) if ident in frames else ""
            logger.critical(
                "request timeout: %s %s ran %.1f s (limit %s s); the worker exits",
                method,
                path,
                now - started,
                self.timeout,
                extra={"client_request_id": request_id or None, "stack": stack},
            )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(EXIT_STATUS)


def wrap(app, timeout: float | None):
    return RequestWatchdog(app, timeout=timeout) if timeout else app


def freeze_loaded_objects() -> None:
    """Take what the worker has loaded out of the cyclic collector's reach.

    The modules, URL patterns, views and settings a worker loads live as long as it does, yet
    every full collection walked them all: with four threads in a worker, that pause stalled
    every request in flight in it, which is what its slowest requests were waiting for
    (bench/README.md). ``gc.freeze()`` moves them to a generation the collector skips; objects
    made while serving requests are collected as before.
    """
    # The views are imported with the URLconf (on the first request, unless loaded here).
    get_resolver().check()
    gc.collect()
    gc.freeze()


wsgi_application = wrap(django_application, float(os.environ.get("WEB_REQUEST_TIMEOUT") or 0))
freeze_loaded_objects()
