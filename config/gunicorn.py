"""gunicorn settings for the web roles (``gunicorn -c config/gunicorn.py``, docker/entrypoint.sh).

Only logging: gunicorn's own lines (master, worker boot and exit) in the deployment's
``LOG_FORMAT`` (json unless set, as under the production settings), and no gunicorn access log:
the application writes one line per request, with its request id (``apps.core.access``).
Everything else stays on the command line.
"""

import os

from config.log_config import logging_config

logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT") or "json", level=os.environ.get("LOG_LEVEL") or "INFO"
)
accesslog = None
