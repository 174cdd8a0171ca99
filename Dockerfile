# The release artifact (`pnpm release`) in an image: built in one stage, copied alone into a slim
# runtime that runs as a user of its own, with its data in a volume and its logs on stdout.
#
#   docker build -t secure-task-manager .      (or podman/buildah)
#   docker compose up                          (PostgreSQL, Redis, two API instances, a proxy)

FROM node:20-bookworm-slim AS build
WORKDIR /src
# bcrypt's addon, should no prebuilt one fit the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npx -y pnpm@10.34.9 install --frozen-lockfile && npx -y pnpm@10.34.9 release

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    LOG_FILE=false
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin stm && mkdir /data && chown stm /data
COPY --from=build /src/release/secure-task-manager /app
WORKDIR /app
VOLUME /data
USER stm
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "server.js"]
