"""``manage.py purge_expired [--dry-run]``: run the retention purges now, then show the backlogs.

The same purges the beat tasks ``core.retention_purge`` and ``notifications.retention_purge``
run (``apps.core.retention``), in batches, without their time budget unless ``--max-seconds``
is given. ``--dry-run`` deletes nothing and says how many rows each purge would delete. Both
end with what is waiting or dead (the database gauges of ``/metrics``), so an operator sees
what the purges leave alone and why.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.core.metrics import db_metrics
from apps.core.retention import purge_count, purge_run, registered_purges

# The gauges printed after the purges: what is waiting to be sent, and the dead letters.
BACKLOG_GAUGES = (
    "outbox_backlog",
    "outbox_oldest_age_seconds",
    "notifications_deliveries",
    "notifications_deliveries_oldest_age_seconds",
)


def _sample_line(name: str, labels: dict, value: float) -> str:
    inner = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{name}{{{inner}}} {value:.0f}" if inner else f"{name} {value:.0f}"


class Command(BaseCommand):
    help = "Delete expired rows (outbox, inbox, deliveries, idempotency keys) in batches; show the backlogs."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--only", action="append", metavar="PURGE", help="Run only this purge (repeatable).")
        parser.add_argument("--max-seconds", type=float, help="Stop each purge after this long (default: no limit).")
        parser.add_argument("--batch-size", type=int, help="Rows per batch (default: RETENTION_BATCH_SIZE).")

    def handle(self, *args, dry_run=False, only=None, max_seconds=None, batch_size=None, **options):
        purges = registered_purges()
        if only:
            unknown = sorted(set(only) - {purge.name for purge in purges})
            if unknown:
                names = ", ".join(purge.name for purge in purges)
                raise CommandError(f"unknown purge {', '.join(unknown)} (known: {names})")
            purges = [purge for purge in purges if purge.name in only]
        width = max(len(purge.name) for purge in purges)
        for purge in purges:
            if dry_run:
                count, cutoff = purge_count(purge)
                outcome = f"would delete {count} rows" if cutoff else None
            else:
                result = purge_run(purge, max_seconds=max_seconds, batch_size=batch_size)
                count, cutoff = result.deleted, result.cutoff
                outcome = f"deleted {count} rows in {result.batches} batches" if cutoff else None
                if cutoff and not result.complete:
                    outcome += " (time budget reached; run again for the rest)"
            if cutoff is None:
                self.stdout.write(f"{purge.name:<{width}}  kept forever (retention 0)")
            else:
                self.stdout.write(f"{purge.name:<{width}}  {outcome} older than {cutoff:%Y-%m-%d %H:%M:%S}Z")
        self.stdout.write("\nwaiting and dead:")
        for family in db_metrics():
            if family.name not in BACKLOG_GAUGES:
                continue
            for sample in family.samples:
                self.stdout.write("  " + _sample_line(sample.name, sample.labels, sample.value))
