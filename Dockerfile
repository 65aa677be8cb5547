# syntax=docker/dockerfile:1
#
# Tally's image: one static-ish binary on distroless, run as a non-root user.
#
#   docker build -t tally .
#   docker run --rm -p 8080:8080 -v tally-data:/data \
#     -e TALLY_DEV_SECRET="$(head -c 32 /dev/urandom | base64)" tally
#
# The binary links only glibc and libgcc (SQLite is bundled by sqlx, TLS is rustls on aws-lc-rs:
# no OpenSSL), so the runtime image is gcr.io/distroless/cc-debian12, whose glibc matches the
# bookworm builder and whose CA certificates serve outgoing TLS (JWKS, LLM). Without --warehouse (or TALLY_WAREHOUSE / [warehouse] url) `tally serve`
# builds the seeded demo warehouse on first start into $TALLY_HOME (/data, a volume), next to
# the default SQLite app store (store.db: audit log, revocations, conversations).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /build

# Dependencies first, in their own layer: a change to Tally's sources then rebuilds only Tally.
# Stub sources stand in for the crate (Cargo.toml declares the lib, the bin and two benches, so
# each needs a file for the manifest to load).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && : > src/lib.rs \
 && echo 'fn main() {}' > benches/compile.rs \
 && echo 'fn main() {}' > benches/translate.rs \
 && cargo build --release --locked \
 && rm -rf src benches

# The crate: src/, plus what it compiles in (examples/ catalogs, generators and few-shot files;
# web/ for the page) and the bench files the manifest names.
COPY src src
COPY benches benches
COPY examples examples
COPY web web
# COPY keeps the context's modification times, which can be older than the stub build: touch
# the crate roots so cargo rebuilds Tally itself rather than keeping the stub binary.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked \
 && install -D -m 0755 target/release/tally /out/tally \
 && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
# The binary, and an empty /data owned by the runtime user (a named volume mounted there starts
# with this ownership, so the non-root process can write the demo warehouse and the store).
COPY --from=builder /out/tally /usr/local/bin/tally
COPY --from=builder --chown=65532:65532 /out/data /data
ENV TALLY_HOME=/data
VOLUME ["/data"]
# Numeric, so Kubernetes' runAsNonRoot can verify it (distroless names it `nonroot`).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tally"]
# `serve` listens on 127.0.0.1:8080 unless told otherwise; inside a container it must be all
# interfaces. It needs a token verifier: TALLY_DEV_SECRET (at least 32 bytes) and/or
# TALLY_JWKS_URL. Other subcommands run the same way: `docker run … tally token --role analyst
# --workspace acme` (with the same TALLY_DEV_SECRET).
CMD ["serve", "--addr", "0.0.0.0:8080"]
