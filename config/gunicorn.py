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

from config.env import log_format, log_level, prometheus_multiproc_dir
from config.log_config import logging_config

logconfig_dict = logging_config(log_format=log_format(default="json"), level=log_level())
accesslog = None

_DIRECTORY = prometheus_multiproc_dir()
_OWN_DIRECTORY = not _DIRECTORY
if _OWN_DIRECTORY:
    _DIRECTORY = os.path.join(tempfile.gettempdir(), f"prometheus-gunicorn-{os.getpid()}")
    # Set for the workers, which inherit the environment and read it through their settings.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _DIRECTORY


def _empty(directory: str) -> None:
    """Remove prometheus_client's files (``*.db``) only: the directory is the operator's choice."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def on_starting(server):
    _empty(_DIRECTORY)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_DIRECTORY:
        shutil.rmtree(_DIRECTORY, ignore_errors=True)
