"""gunicorn settings shared by every web role (``gunicorn -c config/gunicorn.py config.wsgi``).

Logging: gunicorn's own lines (master, worker boot and exit) in the deployment's ``LOG_FORMAT``
(json unless set, as under the production settings), and no gunicorn access log: the
application writes one line per request, with its request id (``apps.core.access``).

Metrics: each gunicorn worker is a process of its own, so its Prometheus samples live in files
under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, chosen when the
variable is set before the workers import it), and ``/metrics``, whichever worker serves it,
sums them all. This file makes that hold for every way gunicorn is started:

- without ``PROMETHEUS_MULTIPROC_DIR`` it uses a directory of its own (per master, in the temp
  dir, removed at exit), so several workers never report one worker's numbers as the whole;
- the directory's sample files are removed when the master starts: files of an earlier run's
  workers would otherwise add to this run's counters;
- a worker that exits (``--max-requests``, a crash, a HUP) is marked dead: its counters and
  histograms stay in the sums (a counter must not go down), its live gauges go.

Command-line options still apply on top (bind, workers, threads, timeouts).
"""

import os
import shutil
import tempfile

from config.log_config import logging_config

logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT") or "json", level=os.environ.get("LOG_LEVEL") or "INFO"
)
accesslog = None

_OWN_DIRECTORY = not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
if _OWN_DIRECTORY:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(tempfile.gettempdir(), f"prometheus-gunicorn-{os.getpid()}")


def _empty(directory: str) -> None:
    """Remove prometheus_client's files (``*.db``) only: the directory is the operator's choice."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def on_starting(server):
    _empty(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_DIRECTORY:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
