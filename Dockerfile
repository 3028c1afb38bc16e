# DocRE Studio on a CUDA runtime: `docker build -t docre-studio .` then
# `docker run --gpus all -p 8501:8501 -v docre-data:/app/data docre-studio` (the GPU is used when present).
# The torch wheel brings its own CUDA 13 runtime, cuDNN and NCCL (pip's nvidia-* packages); the image only
# needs the NVIDIA container hooks for the host driver (>= 580, CUDA 13), so the small `base` flavour
# of the same CUDA major version is enough.
FROM nvidia/cuda:13.0.0-base-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1 \
    DOCRE_DATA_DIR=/app/data
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt
ENV PATH=/opt/venv/bin:$PATH
COPY engine engine
COPY db db
COPY app app
COPY assets assets
COPY .streamlit .streamlit
EXPOSE 8501
# Inside a container the app must listen beyond loopback; map the port to 127.0.0.1 on the host for local use.
CMD ["python", "-m", "streamlit", "run", "app/main.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
