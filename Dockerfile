FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY clipforge clipforge
COPY schema schema
COPY resolvers resolvers
COPY jobs jobs
COPY media media
COPY db db
RUN pip install --no-cache-dir .
ENV CLIPFORGE_DATA_DIR=/data
VOLUME /data
EXPOSE 8000 8001
CMD ["clipforge", "api"]
