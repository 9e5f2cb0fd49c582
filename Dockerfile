FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir . && if [ -f package.json ]; then npm ci --omit=dev --no-audit --no-fund; fi \
    && DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
# gunicorn believes X-Forwarded-Proto only from FORWARDED_ALLOW_IPS (config/gunicorn.conf.py).
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
