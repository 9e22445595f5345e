# GateLab dashboard: CPU-only PyTorch, served on port 8501.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/app/.numba-cache

WORKDIR /app

# FluidSynth and a General MIDI SoundFont (6 MB): the audio previews' piano (core/music/audio.py); tini,
# the init that runs as PID 1 and reaps orphans (below).
# Unpinned (DL3008): Debian's versions change with the base image's release; all are stable.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends fluidsynth timgm6mb-soundfont tini \
    && rm -rf /var/lib/apt/lists/*

# Every package, transitive ones included, from the hash-locked requirements.lock (pip-compile
# --generate-hashes; docs/deploy.md): torch==2.13.0+cpu from PyTorch's CPU index (PyPI's torch is
# a multi-GB CUDA build), the rest from PyPI. The torch hash in the lock is that of the CPU wheel
# on this project's machines (/opt/wheels); should PyTorch's index serve a wheel with another
# hash, pip stops here. No Docker daemon runs on these machines: this image build was not run.
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
        --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple

COPY core/ core/
COPY app/ app/
COPY assets/ assets/
COPY .streamlit/ .streamlit/
COPY results/ results/

RUN useradd --create-home --uid 10001 gatelab \
    && mkdir -p /app/.numba-cache && chown gatelab /app/.numba-cache
USER 10001
# Compile the numba loops once, here, into a cache the server's user owns: without it every new
# container compiles them on its first Lab (about 15 s). (numba recompiles if the CPU differs.)
RUN python -c "from core.lab.warm_up import warm_up; warm_up()"

EXPOSE 8501
# The server answers once its Lab workers' zygote is warm (app/serve.py): give it a minute.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"]
# tini is PID 1: should the zygote die, its workers are orphaned to PID 1, and a server there would
# never reap them (zombies). -s: a subreaper too, should the image run under another init.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["python", "-m", "app.serve", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", "--browser.gatherUsageStats=false"]
