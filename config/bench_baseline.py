"""The in-run baseline of ``bench/``: the cheapest Django view that writes one row.

Routed only by the benchmark's URLconf (``config/urls_bench.py``, ``config.settings.bench``);
the benchmark creates its ``bench_baseline`` table itself, so deployments have neither the
route nor the table. It goes through the same middleware, WSGI server and database as the API, which
makes "POST rating as a fraction of one bare INSERT" a ratio measured on one stack.
"""

import uuid

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

BASELINE_TABLE = "bench_baseline"


@csrf_exempt
@require_POST
def baseline_insert(request):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BASELINE_TABLE} (id, created_at) VALUES (%s, CURRENT_TIMESTAMP)",
            [str(uuid.uuid4())],
        )
    return HttpResponse(status=201)
