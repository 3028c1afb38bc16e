# DocRE Studio on a CUDA runtime, in team mode (everyone logs in) as a non-root user:
#   docker build -t docre-studio .
#   docker run --rm -it -v docre-data:/app/data docre-studio python -m db create-user alice --role curator
#   docker run --gpus all -p 127.0.0.1:8501:8501 -v docre-data:/app/data docre-studio
# The port is published on the host's loopback only; to serve a team, put a TLS proxy in front of it. A single
# user on this machine may turn the login off with `-e DOCRE_AUTH=off` (then anyone reaching the port is anyone).
# The torch wheel brings its own CUDA 13 runtime, cuDNN and NCCL (pip's nvidia-* packages); the image only
# needs the NVIDIA container hooks for the host driver (>= 580, CUDA 13), so the small `base` flavour
# of the same CUDA major version is enough.
# The base is pinned by digest, so a re-pushed tag cannot change what is built. The digest is the tag's
# multi-platform manifest list (index) as Docker Hub and NGC served it on 2026-09-07, copied from public
# repositories that record it (matthewdmanning/feral-vision deploy/Dockerfile.gcp, and a deployment provenance
# table that lists the registry's Docker-Content-Digest); no registry was reachable where it was pinned.
# To refresh it: `docker buildx imagetools inspect nvidia/cuda:13.0.0-base-ubuntu24.04` (the "Digest:" line),
# or `docker pull` the tag and read `docker inspect --format '{{index .RepoDigests 0}}'`, then replace it here.
FROM nvidia/cuda:13.0.0-base-ubuntu24.04@sha256:6e43a6b02e5f16e4a715953be8b29c40acbe84aed11a61357ef0fc899967fbd9

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1 \
    DOCRE_DATA_DIR=/app/data
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# requirements.lock: requirements.txt resolved for this image (python3.12, x86_64) with every file's sha256
# (`make lock` regenerates it); pip refuses any file whose hash it does not list.
COPY requirements.lock .
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --require-hashes -r requirements.lock
ENV PATH=/opt/venv/bin:$PATH
COPY engine engine
COPY db db
COPY app app
COPY assets assets
COPY .streamlit .streamlit
# The app runs as an unprivileged user that owns only its data directory (the code stays root's, read-only to it).
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/docre docre \
    && mkdir -p /app/data && chown docre:docre /app/data
USER docre
# In a container the app is in team mode unless explicitly turned off (-e DOCRE_AUTH=off).
ENV DOCRE_AUTH=on HOME=/home/docre
VOLUME /app/data
EXPOSE 8501
# Inside a container the app must listen beyond loopback; the host publishes the port on 127.0.0.1 (see above).
CMD ["python", "-m", "streamlit", "run", "app/server.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
