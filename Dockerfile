# The lganim app on a CUDA machine (or as a Hugging Face Docker Space).
#
#   docker build -t lganim .                                    # the demo domain is built in; real weights download on first use
#   docker build -t lganim --build-arg PREFETCH="demo human" .  # also bake the human weights into the image
#   docker run --gpus all -p 7860:7860 lganim                   # then open http://localhost:7860
#
# requirements.txt pins torch==2.13.0: on Linux x86_64 the default index serves its CUDA 13.0 build (cu130; its CUDA
# libraries arrive as wheels), so the same file serves CPU checkouts and this GPU image. The base image is CUDA 13.0
# to match: its NVIDIA_REQUIRE_CUDA makes the NVIDIA container runtime refuse a host whose driver is older than
# CUDA 13.0 needs (R580, >= 580.65.06) instead of starting a container in which torch silently runs on the CPU.
# Ubuntu 24.04's python3 is 3.12, as on a ZeroGPU Space.
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && (userdel --remove ubuntu 2>/dev/null || true) \
 && useradd --create-home --uid 1000 user

USER user
ENV HOME=/home/user \
    PATH=/home/user/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False
WORKDIR /home/user/app

COPY --chown=user requirements.txt .
RUN python3 -m venv /home/user/venv && pip install -r requirements.txt

COPY --chown=user . .

# Domains whose weights are fetched (or, for demo, built) at build time: "demo", "demo human", or "" for none.
ARG PREFETCH=demo
RUN for domain in $PREFETCH; do python -m lganim download "$domain" || exit 1; done

EXPOSE 7860
CMD ["python", "app.py"]
