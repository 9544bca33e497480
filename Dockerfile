# syntax=docker/dockerfile:1
# One image for every process of the relay: the web process (default), the worker and the
# migration, each run through the same `deno task` (and so the same permission list) as on a
# developer machine:
#   docker run IMAGE                      -> deno task start   (websockets, NIP-11, /healthz)
#   docker run IMAGE deno task worker     -> BullMQ worker
#   docker run IMAGE deno task migrate    -> apply migrations/*.sql, then exit
# See compose.yaml and docs/OPERATIONS.md.

ARG DENO_VERSION=2.9.6

# Deno from the npm registry (the only registry the project relies on): the npm package's
# install step leaves the platform binary at node_modules/deno/deno.
FROM node:22-bookworm-slim AS deno
ARG DENO_VERSION
RUN npm install --global --no-fund --no-audit "deno@${DENO_VERSION}" \
 && cp "$(npm root --global)/deno/deno" /usr/local/bin/deno \
 && /usr/local/bin/deno --version

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 relay \
 && useradd --system --uid 10001 --gid relay --home-dir /app --shell /usr/sbin/nologin relay
COPY --from=deno /usr/local/bin/deno /usr/local/bin/deno
ENV DENO_DIR=/app/.deno \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1 \
    PORT=3000
WORKDIR /app

# Dependencies first (cached while deno.json and deno.lock do not change), exactly as locked.
COPY deno.json deno.lock ./
RUN deno install --frozen

# The code. Every folder the entry points import must be listed here
# (tests/deploy_files_test.ts checks it against the module graph).
COPY main.ts ./
COPY lib/ lib/
COPY relay/ relay/
COPY workers/ workers/
COPY services/ services/
COPY routes/ routes/
COPY components/ components/
COPY islands/ islands/
COPY client/ client/
COPY static/ static/
COPY scripts/ scripts/
COPY migrations/ migrations/
# The admin islands bundle is built here, so a broken bundle fails the build; `deno task start`
# rebuilds it at each start, hence static/ belongs to the runtime user.
RUN deno task build \
 && deno cache --frozen main.ts workers/main.ts scripts/migrate.ts scripts/export.ts \
      scripts/import.ts scripts/admin.ts \
 && chown -R relay:relay /app/.deno /app/static

USER relay
EXPOSE 3000
STOPSIGNAL SIGTERM
CMD ["deno", "task", "start"]
