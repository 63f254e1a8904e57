"""Settings for the benchmark server only (scripts/bench.py): Throughline's own settings,
with the URLconf that adds the bare view the pages are compared with.

Used as DJANGO_SETTINGS_MODULE=bench_settings with scripts/ on the Python path; everything
else (DEBUG=0, the database, Redis, the write rate limit) comes from the environment as in
production.
"""

from throughline.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
