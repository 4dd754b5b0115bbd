import os

import django
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Apps first, then tracing (when OTEL_EXPORTER_OTLP_ENDPOINT asks for it): its Django
# instrumentation adds a middleware, which must be in place before the handler builds its chain.
django.setup(set_prefix=False)
from apps.core import tracing  # noqa: E402 - needs the apps loaded

tracing.setup("web")
application = get_wsgi_application()
