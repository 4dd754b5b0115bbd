import os

import django
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# As config/wsgi.py: tracing's middleware must be in place before the handler builds its chain.
django.setup(set_prefix=False)
from apps.core import tracing  # noqa: E402 - needs the apps loaded

tracing.setup("web")
application = get_asgi_application()
