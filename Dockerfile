# Production image: the same for web, worker, beat and the simulators; compose picks the command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir -p portal integrations runs \
    && touch portal/__init__.py integrations/__init__.py runs/__init__.py \
    && pip install . \
    && pip uninstall -y cloud-portal

COPY . .
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app portal \
    && mkdir -p /app/var /app/staticfiles \
    && chown -R portal:portal /app/var /app/staticfiles

# collectstatic reads settings; these values exist only for this build step.
RUN PORTAL_ENV=production SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-xx \
    ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
