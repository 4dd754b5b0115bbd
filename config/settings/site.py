"""This site's own address, as its users reach it."""

from config.env import env

# The absolute base URL of this site, the one place emails' links come from (`make run` sets it
# from PORT).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
