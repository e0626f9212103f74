# The runner image (ghcr.io/kubectl-trigger/runner) for users with Docker: the runner
# package and the urllib3 and tzdata wheels pinned by constraints.txt, no plugin.
# `make image` builds the same image with no container engine (runner_image/: Debian
# bookworm's python3, python-is-python3 and ca-certificates, the same wheels, user,
# directory, environment and entrypoint), reproducibly; that one is what the tests run.
FROM debian:bookworm-slim AS wheels
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip \
    && rm -rf /var/lib/apt/lists/*
COPY constraints.txt /tmp/constraints.txt
RUN python3 -m pip install --quiet --no-deps --no-compile --only-binary=:all: \
    --break-system-packages --target /site -c /tmp/constraints.txt urllib3 tzdata

FROM debian:bookworm-slim
# tzdata: zoneinfo needs a time-zone database for cron sources with a timeZone.
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
COPY --from=wheels /site/ /usr/lib/python3/dist-packages/
COPY runner/ /app/runner/
# Bytecode in the image: PYTHONDONTWRITEBYTECODE below stops writing it at run time, and without
# it every start compiles the runner from source (slower to start, and the compiler's peak
# memory stays resident).
RUN python -m compileall -q --invalidation-mode unchecked-hash \
    /usr/lib/python3/dist-packages /app/runner
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# A numeric non-root user, as Pod Security "restricted" requires.
USER 65532:65532
ENTRYPOINT ["python", "-m", "runner"]
