# The converge image: the `converge` command with the daemons (serve, sidecar, notifier,
# healer, scaler), in a virtual environment at /opt/converge, run as the non-root user
# `converge` (uid/gid 10001). See docs/operations.md#the-container-image.
#
#   docker build -t converge:0.1.0 .                                  # from the repository root
#   docker build --target sidecar -t converge:0.1.0-sidecar .         # + promtool, amtool, vmalert
#   docker run --rm -v "$PWD/repo-example:/specs:ro" converge:0.1.0 check /specs
#
# Build arguments:
#   BASE        a Debian 12 (bookworm) image with python3 >= 3.11 and its venv module.
#               scripts/build-image passes one built from Debian's packages (no registry).
#   EXTRAS      the extras installed with converge-gitops, comma-separated (default
#               `daemons`; empty for the core only: check, compile, test, diff, fmt).
#   WHEELHOUSE  empty (default): pip installs from the package index. A directory of the
#               build context instead (scripts/build-image builds build/wheelhouse on the
#               host): pip installs from it alone and never reaches the network.
#   VERSION     the version label; tests/test_image.py keeps it equal to pyproject's.
#   REVISION    the source revision label (scripts/build-image passes the Git commit).
ARG BASE=python:3.11-slim-bookworm

# --- build: the wheel, installed with its dependencies into /opt/converge ------------------
FROM ${BASE} AS build
ARG EXTRAS=daemons
ARG WHEELHOUSE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/converge
# .dockerignore lets in only what the wheel is built from (and build/wheelhouse).
COPY . /src
RUN set -eu; \
    if [ -n "$WHEELHOUSE" ]; then \
        export PIP_NO_INDEX=1 PIP_FIND_LINKS="/src/$WHEELHOUSE"; \
    fi; \
    /opt/converge/bin/pip wheel --no-deps --wheel-dir /dist /src; \
    wheel=$(echo /dist/converge_gitops-*.whl); \
    /opt/converge/bin/pip install "$wheel${EXTRAS:+[$EXTRAS]}"; \
    /opt/converge/bin/pip uninstall --yes --quiet pip setuptools; \
    /opt/converge/bin/converge --version

# --- runtime: the base with git and a non-root user, no compiler or build tools ------------
FROM ${BASE} AS runtime-base
# git: `converge serve` and `--source git+URL` fetch with it; ca-certificates for https.
RUN set -eu; \
    if ! command -v git >/dev/null || [ ! -e /etc/ssl/certs/ca-certificates.crt ]; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            git ca-certificates; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --system --gid 10001 converge; \
    useradd --system --uid 10001 --gid converge --home-dir /var/lib/converge \
        --shell /usr/sbin/nologin converge; \
    install -d -o converge -g converge -m 0755 /var/lib/converge
ENV PATH=/opt/converge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/converge

# --- sidecar: + promtool, amtool and vmalert from Debian's packages ------------------------
# A real install (not dpkg -x): Alertmanager's checks need its default template under
# /usr/share/prometheus/alertmanager. policy-rc.d keeps the packages from starting services.
# The sidecar runs none of the servers: dpkg leaves out their binaries and the web UI's
# JavaScript (over 350 MB), keeping the checkers.
FROM runtime-base AS sidecar
ARG VERSION=0.1.0
ARG REVISION=
RUN set -eu; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
    chmod 0755 /usr/sbin/policy-rc.d; \
    for path in /usr/share/javascript/* /usr/bin/prometheus /usr/bin/prometheus-alertmanager \
                /usr/bin/victoria-metrics /usr/bin/vmagent /usr/bin/vmauth /usr/bin/vmbackup \
                /usr/bin/vmctl /usr/bin/vmrestore; do \
        echo "path-exclude=$path"; \
    done > /etc/dpkg/dpkg.cfg.d/converge-sidecar; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        prometheus prometheus-alertmanager victoria-metrics; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
    promtool --version; amtool --version; vmalert -version; \
    test -f /usr/share/prometheus/alertmanager/default.tmpl
COPY --from=build /opt/converge /opt/converge
LABEL org.opencontainers.image.title="converge-sidecar" \
      org.opencontainers.image.description="converge with promtool, amtool and vmalert, to run converge sidecar next to Prometheus, Alertmanager or vmalert" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/operations.md"
USER 10001:10001
ENTRYPOINT ["converge"]
CMD ["--help"]

# --- the default target: converge and git ----------------------------------------------------
FROM runtime-base AS runtime
ARG VERSION=0.1.0
ARG REVISION=
COPY --from=build /opt/converge /opt/converge
LABEL org.opencontainers.image.title="converge" \
      org.opencontainers.image.description="GitOps compiler and reconciler for Prometheus, vmalert and Alertmanager configuration" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/operations.md"
USER 10001:10001
ENTRYPOINT ["converge"]
CMD ["--help"]
