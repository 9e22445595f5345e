# GateLab dashboard: CPU-only PyTorch, served on port 8501.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /app

# The CPU build of torch first (the default wheel is a multi-GB CUDA build), then the rest.
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir -r requirements.txt

COPY core/ core/
COPY app/ app/
COPY assets/ assets/
COPY .streamlit/ .streamlit/
COPY results/ results/

RUN useradd --create-home --uid 10001 gatelab
USER 10001

EXPOSE 8501
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health')"]
CMD ["python", "-m", "app.serve", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", "--browser.gatherUsageStats=false"]
