# The MNIST Studio app server (and, with another command, a Ray node that trains for it).
#   docker build -t mnist-studio .
#   docker run -p 8501:8501 -v studio-saves:/data/saved mnist-studio
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    MNIST_STUDIO_SAVES=/data/saved
WORKDIR /app
COPY requirements.txt requirements-cluster.txt ./
RUN pip install -r requirements.txt -r requirements-cluster.txt
COPY app.py ./
COPY .streamlit ./.streamlit
COPY mnist_demo ./mnist_demo
COPY studio ./studio
COPY weights ./weights
# A user of its own; the visitors' saves (and Keras' MNIST download) are its only writes.
RUN useradd --create-home --uid 1000 studio && mkdir -p /data/saved && chown -R studio /data
USER studio
ENV PYTHONPATH=/app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", \
     "--server.port", "8501", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
