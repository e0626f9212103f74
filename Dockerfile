# The runner image (ghcr.io/kubectl-trigger/runner): the runner package and urllib3 (webhook and
# chat actions), no plugin.
# Built by the release; not exercised here (no container engine on the dev machines: the
# local control plane's pod emulator runs `python -m runner` from the checkout instead).
FROM python:3.11-slim
# tzdata: zoneinfo needs a time-zone database for cron sources with a timeZone.
RUN python -m pip install --no-cache-dir "urllib3>=2,<3" tzdata
COPY runner/ /app/runner/
# Bytecode in the image: PYTHONDONTWRITEBYTECODE below stops writing it at run time, and without
# it every start compiles the runner from source (slower to start, and the compiler's peak
# memory stays resident).
RUN python -m compileall -q /app/runner
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# A numeric non-root user, as Pod Security "restricted" requires.
USER 65532:65532
ENTRYPOINT ["python", "-m", "runner"]
