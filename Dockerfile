# One image for the Action (`reviewbot action`, the entrypoint) and the App server
# (`reviewbot serve` / `reviewbot worker`: deploy/compose.yaml gives the command).
# Build stage: wheels only (every dependency ships manylinux wheels), no compiler needed.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY reviewbot ./reviewbot
COPY prompts ./prompts
RUN pip install --no-cache-dir --disable-pip-version-check --prefix=/install "./[server]"

FROM python:3.11.11-slim-bookworm
LABEL org.opencontainers.image.title="reviewbot" \
      org.opencontainers.image.description="AI pull-request reviewer for GitHub" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
COPY LICENSE /usr/share/doc/reviewbot/LICENSE
# No USER line: GitHub runs Docker actions as root, and the workspace and the
# $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY files are not writable otherwise.
ENTRYPOINT ["reviewbot", "action"]
