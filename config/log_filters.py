"""Console noise of the embedded demo: periodic tasks are logged only when they did something.

Beat sends the outbox relay, the delivery sweep and the digest closer every few seconds; with
Celery's three lines per run (beat's "Sending due task", the worker's "received" and
"succeeded") the console of `make run` scrolled the emails it prints out of sight. This filter
drops those lines for the tasks of ``CELERY_BEAT_SCHEDULE``, except a "succeeded" line whose
result counts something (``3``, ``{'outbox': 2, ...}``). Failures are other lines, never dropped.
"""

import ast
import logging
from functools import cached_property


class IdlePeriodicTasksFilter(logging.Filter):
    @cached_property
    def periodic(self) -> frozenset[str]:
        from django.conf import settings

        return frozenset(entry["task"] for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "celery.beat" and str(record.msg).startswith("Scheduler: Sending due task"):
            return not (isinstance(record.args, tuple) and len(record.args) == 2 and record.args[1] in self.periodic)
        if record.name not in ("celery.worker.strategy", "celery.app.trace") or not isinstance(record.args, dict):
            return True
        if record.args.get("name") not in self.periodic:
            return True
        message = str(record.msg)
        if message.endswith("received"):
            return False
        if "succeeded in" in message:
            return _did_something(record.args.get("return_value"))
        return True


def _did_something(return_value) -> bool:
    try:
        value = ast.literal_eval(str(return_value))
    except (ValueError, SyntaxError):
        return True
    if isinstance(value, dict):
        return any(value.values())
    return bool(value)
