# Junction in a container. Build: docker build -t junction .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 junction \
 && mkdir /data && chown junction /data
USER junction
ENV JUNCTION_DATA_DIR=/data \
    JUNCTION_HOST=0.0.0.0 \
    JUNCTION_PORT=8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz').status != 200)"
CMD ["junction", "serve"]
