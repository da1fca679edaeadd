# tradewatch container: the CLI (schema apply, exporter, daemon, simulate, …) on Node 20.
# Built by deploy/docker-compose.yml; also usable alone: docker build -t tradewatch:0.1.0 .
# Checked by test/compose.test.ts: pinned bases, non-root runtime, nothing installed at run time.

# 1. Build: every dependency, then tsc → dist/.
FROM node:20.19-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency runs code (or reaches the network) at install; ws uses bufferutil's prebuilt binary.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only.
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: compiled code, production dependencies, no sources (bin/tradewatch.js runs dist/ when src/ is absent).
FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TZ=UTC \
    TRADEWATCH_WRITER_SPOOL_DIR=/var/lib/tradewatch/spool
WORKDIR /app
# The only writable places: the writer's spool and the generated alerting provisioning (volumes in compose).
# Created here so that a new volume inherits their owner.
RUN mkdir -p /var/lib/tradewatch/spool /var/lib/tradewatch/grafana/deploy/grafana/provisioning/alerting \
    && chown -R node:node /var/lib/tradewatch
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# The simulator's fault scenarios (tradewatch demo, simulate --scenario).
COPY scenarios ./scenarios
USER node
ENTRYPOINT ["node", "bin/tradewatch.js"]
CMD ["--help"]
