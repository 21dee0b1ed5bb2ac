# shopbip container image. Build: docker build -t shopbip .
# Run:  docker run -p 8080:8080 -v "$PWD/plugin-config:/app/plugin-config:ro" -v shopbip-data:/app/data \
#         -e SHOPBIP__ADMIN__TOKEN=... -e ACME_WOO_SECRET=... shopbip

# --- builder -------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Dependencies first, in their own layer: a code change does not rebuild Typst (~10 min).
# Cargo reads every workspace member's manifest, so the bench's comes too (never built here).
COPY Cargo.toml Cargo.lock ./
COPY bench/Cargo.toml bench/
RUN mkdir -p src bench/src \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > bench/src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin shopbip \
    && rm -rf src

COPY src src
COPY assets assets
COPY migrations migrations
COPY tests/fixtures tests/fixtures
# The dummy build above left artefacts newer than the sources; make cargo see the real ones.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin shopbip

# --- runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin shopbip
WORKDIR /app
COPY --from=builder /src/target/release/shopbip /usr/local/bin/shopbip
COPY plugin-config/README.md /app/plugin-config/README.md
RUN mkdir -p /app/data && chown -R shopbip:shopbip /app

ENV SHOPBIP__SERVER__HOST=0.0.0.0 \
    SHOPBIP__SERVER__PORT=8080 \
    SHOPBIP__DATABASE__URL=sqlite:///app/data/shopbip.db \
    SHOPBIP__STORES__DIR=/app/plugin-config \
    SHOPBIP__LOG__FORMAT=json
USER shopbip
VOLUME ["/app/data", "/app/plugin-config"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Exec form: SIGTERM reaches shopbip, which finishes jobs in flight before exiting.
ENTRYPOINT ["shopbip"]
CMD ["serve"]
