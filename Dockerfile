# ccapp service image: slim, non-root, health-checked.
#   docker build -t ccapp .
#   docker run --network host -v ccapp-data:/var/lib/ccapp -v ./ccapp.yaml:/etc/ccapp/ccapp.yaml:ro ccapp
# Host networking keeps the loopback defaults valid (ARI 127.0.0.1:8088, AMI :5038, FastAGI :4573,
# HTTP :8080) exactly as on the test bed; see docker-compose.yml.
FROM python:3.11-slim

# espeak-ng + sox: text-to-speech for text: prompts (see docs/speech.md)
RUN apt-get update -q && apt-get install -y -q --no-install-recommends espeak-ng sox \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /var/lib/ccapp --create-home ccapp \
    && mkdir -p /usr/share/asterisk/sounds/ccapp && chown ccapp /usr/share/asterisk/sounds/ccapp
WORKDIR /opt/ccapp
COPY pyproject.toml README.md alembic.ini ./
COPY ccapp ./ccapp
COPY migrations ./migrations
RUN pip install --no-cache-dir . && mkdir -p /etc/ccapp && chown ccapp /var/lib/ccapp

USER ccapp
ENV CCAPP_CONFIG=/etc/ccapp/ccapp.yaml \
    PYTHONUNBUFFERED=1
# rendered prompts: share this volume with Asterisk at the same path (docker-compose.yml does)
VOLUME ["/var/lib/ccapp", "/usr/share/asterisk/sounds/ccapp"]
EXPOSE 8080 4573
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
# the same two steps as deploy/ccapp.service: migrate, then run
CMD ["sh", "-c", "ccapp db upgrade && exec ccapp run"]
