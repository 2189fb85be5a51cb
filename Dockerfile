# HyperFusion Studio image: the app from `make run`, served on port 8501.
#   docker build -t hyperfusion-studio .                            (CPU torch, small)
#   docker build --build-arg TORCH_VARIANT=cuda -t hyperfusion-studio .  (PyPI torch)
#   docker run --rm -p 8501:8501 hyperfusion-studio
FROM python:3.11-slim

# cpu: torch's CPU wheel from the PyTorch index (no CUDA libraries in the image).
# cuda: the default PyPI build of the pinned torch (CUDA on Linux).
ARG TORCH_VARIANT=cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The app runs as this unprivileged user; the code stays root-owned and read-only.
RUN useradd --create-home --uid 1000 --user-group app
WORKDIR /app

# The same install as `make run` (pip install -r requirements.txt), so that what CI
# proves about the requirements also holds for the image.
COPY requirements.txt .
RUN if [ "$TORCH_VARIANT" = "cpu" ]; then \
        pip install --no-cache-dir -r requirements.txt \
            --extra-index-url https://download.pytorch.org/whl/cpu; \
    elif [ "$TORCH_VARIANT" = "cuda" ]; then \
        pip install --no-cache-dir -r requirements.txt; \
    else \
        echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 1; \
    fi

COPY . .
USER 1000:1000

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; r = u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4); sys.exit(r.read() != b'ok')"]

# 0.0.0.0 so that the published port reaches the server. With a wildcard address a
# headless server looks up its external IP once at start-up (1 s timeouts); usage
# statistics stay off.
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
