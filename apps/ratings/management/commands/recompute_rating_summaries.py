from django.core.management.base import BaseCommand

from apps.ratings.services import rating_summaries_recompute


class Command(BaseCommand):
    help = "Recompute every provider's rating summary from the rating rows and report drift."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report drift only; change nothing. Exit 1 on drift.")

    def handle(self, *args, check: bool, **options):
        drifted = rating_summaries_recompute(fix=not check)
        for row in drifted:
            diff = {k: (row["actual"][k], v) for k, v in row["expected"].items() if row["actual"][k] != v}
            changes = " ".join(f"{k}: {a}→{e}" for k, (a, e) in diff.items())
            if row["missing"]:
                changes = f"no summary row {changes}".rstrip()
            self.stdout.write(f"drift provider={row['provider_id']} {changes}")
        verb = "found" if check else "fixed"
        self.stdout.write(self.style.SUCCESS(f"{len(drifted)} drifted summaries {verb}."))
        if check and drifted:
            raise SystemExit(1)
