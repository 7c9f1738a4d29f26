# syntax=docker/dockerfile:1
#
# Portcullis container image: the gateway (`portcullis`, the entrypoint) and the mock
# OpenAI-compatible upstream (`portcullis-mock`) in one small image.
#
#   docker build -t portcullis .
#   docker run --rm portcullis gen-key
#
# Needs BuildKit (the default builder in current Docker) for the cache mounts below.

# ---- build -------------------------------------------------------------------------------
# Bookworm on purpose: the runtime below is distroless Debian 12 (bookworm), so the binaries
# are linked against the same glibc they run with. A newer Debian builder (e.g. trixie) could
# produce binaries that need a glibc symbol Debian 12 lacks.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The registry and target dir live in BuildKit cache mounts, so a rebuild after a source
# change recompiles only what changed. Cache mounts are not part of any layer, so the
# binaries are copied out of target/ in the same RUN.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin portcullis --bin portcullis-mock \
 && mkdir -p /out/state \
 && cp target/release/portcullis target/release/portcullis-mock /out/

# ---- runtime -----------------------------------------------------------------------------
# distroless/cc: glibc, libgcc_s and tzdata, no shell, no package manager. No CA bundle is
# installed: upstream TLS is rustls with the bundled webpki root store (reqwest's
# `rustls-tls` feature), so the system trust store is never read.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/portcullis /out/portcullis-mock /usr/local/bin/
# The :nonroot tag already runs as uid/gid 65532; stated here so it survives a base change.
USER 65532:65532
# Built to run with a read-only root filesystem (docker run --read-only, compose read_only:
# true): the gateway writes nothing but its SQLite file, and only with storage.backend: sqlite
# (the default), under ./data relative to this folder; mount a volume here for that, or use
# postgres (deploy/portcullis-ha.yaml) and keep the container fully read-only.
# The folder is owned by the runtime user, so a named volume mounted on it is writable.
COPY --from=builder --chown=65532:65532 /out/state /var/lib/portcullis
WORKDIR /var/lib/portcullis
# 4000: public data plane. 4001: admin listener (/metrics, /health/ready), master key only;
# publish it on loopback or keep it on a private network.
EXPOSE 4000 4001
ENTRYPOINT ["/usr/local/bin/portcullis"]
# The config is not baked in: mount one at this path (see docker-compose.yml and
# deploy/portcullis.yaml). Its secrets are env:/file: references resolved at start-up.
CMD ["serve", "--config", "/etc/portcullis/config.yaml"]
