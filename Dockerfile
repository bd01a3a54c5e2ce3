# syntax=docker/dockerfile:1
#
# One image with every Tributary binary: tributary-membership, tributary-collector,
# tributary-aggregator and tributary, in /usr/local/bin. The Helm chart (helm/tributary) picks
# the binary per Deployment, so the image has no entrypoint of its own beyond a default command.
#
#   docker build -t tributary:0.1.0 .
#
# The runtime is distroless (glibc, CA certificates, no shell, no package manager) and runs as
# the unprivileged user 65532.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# build.rs compiles proto/ with protox, so no protoc is needed (and none may be used). Release
# binaries keep symbols for backtraces but not debug info, to keep the image small.
ENV CARGO_TERM_COLOR=never \
    PROTOC=/nonexistent \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
        --bin tributary-membership \
        --bin tributary-collector \
        --bin tributary-aggregator \
        --bin tributary \
    && mkdir -p /out \
    && cp target/release/tributary-membership \
          target/release/tributary-collector \
          target/release/tributary-aggregator \
          target/release/tributary \
          /out/

# Matches the build stage's Debian 12 (glibc 2.36).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="tributary" \
      org.opencontainers.image.description="Tributary membership, collector and aggregator services and the tributary CLI" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# membership, aggregator, collector gRPC; /metrics.
EXPOSE 50051 50052 50061 9464
# Services bind loopback by default; in a container they must listen on all interfaces
# (`docker run IMAGE /usr/local/bin/tributary-collector --region eu-west-1 --listen 0.0.0.0:50061`).
CMD ["/usr/local/bin/tributary-membership", "--listen", "0.0.0.0:50051"]
