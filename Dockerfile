# Throughline's production image: gunicorn serves the app, whitenoise its static files.
# gunicorn's settings (the access log, with secrets left out) are in throughline/gunicorn.py.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change reuses this layer.
COPY pyproject.toml scripts/requirements.py ./
RUN python requirements.py > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm requirements.py /tmp/requirements.txt

COPY . .

# Collected with DEBUG=0 so whitenoise gets its compressed, hashed files and manifest.
# This placeholder key only lets settings load for the build; the containers need a real one.
RUN DEBUG=0 SECRET_KEY=build-time-placeholder-for-collectstatic-only \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app throughline \
    && mkdir -p /app/var \
    && chown throughline /app/var

USER throughline
EXPOSE 8000

CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn -c python:throughline.gunicorn throughline.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3}"]
