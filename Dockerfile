# One image for the five Pulse services and the `pulse` CLI.
#
#   docker build -t pulse:local .
#   docker run --rm pulse:local python -m services.gateway      # or services.snapshotter|returns|aggregator|alerter
#   docker run --rm pulse:local pulse token --role admin
#
# docker-compose.yml builds it once and runs every service, the `kafka-init` topic one-shot and the CLI from it.

# The dashboard's browser libraries (htmx, ECharts), from npm as package-lock.json pins them; the gateway
# serves them itself (services/gateway/pages/assets.py). Only node_modules leaves this stage.
FROM node:20-slim AS browser-libraries
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

# Same uv as the one that wrote uv.lock, installed from PyPI.
ARG UV_VERSION=0.13.8

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN pip install "uv==${UV_VERSION}" \
 && groupadd --system --gid 10001 pulse \
 && useradd --system --uid 10001 --gid pulse --home-dir /app --no-create-home --shell /usr/sbin/nologin pulse

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the code, and the project itself (installs the `pulse` console script into the venv).
COPY . .
COPY --from=browser-libraries /build/node_modules ./node_modules
# The venv's python and the `pulse` script come first on PATH (set above): `python -m services.<name>` just works.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
 && python -m compileall -q shared services cli \
 && python -c "import shared.settings, shared.topics, services, cli" \
 && pulse --help > /dev/null

# In a container /metrics, /healthz and the API must listen beyond loopback.
ENV PULSE_HTTP_HOST=0.0.0.0 \
    PULSE_GATEWAY_HOST=0.0.0.0

# snapshotter, returns, aggregator, alerter (/metrics + /healthz); gateway (API + /metrics + /healthz + /readyz)
EXPOSE 9101 9102 9103 9104 8000

# The `pulse` user (numeric, so runtimes can verify it is not root).
USER 10001:10001

CMD ["pulse", "--help"]
