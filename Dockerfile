# tradewatch container: the CLI (schema apply, exporter, daemon, simulate, …) on Node 20.
# Built by deploy/docker-compose.yml; also usable alone: docker build -t tradewatch:0.1.0 .
# Checked by test/compose.test.ts: pinned bases, non-root runtime, nothing installed at run time.

# 1. Build: every dependency, then tsc → packages/*/dist/.
FROM node:20.19-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
COPY packages/sdk/package.json ./packages/sdk/
COPY packages/cli/package.json ./packages/cli/
# --ignore-scripts: no dependency runs code (or reaches the network) at install; ws uses bufferutil's prebuilt binary.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY packages/sdk/tsconfig.build.json ./packages/sdk/
COPY packages/sdk/src ./packages/sdk/src
COPY packages/cli/tsconfig.build.json ./packages/cli/
COPY packages/cli/src ./packages/cli/src
RUN npm run build

# 2. Production dependencies only (the workspaces are linked, not copied).
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/sdk/package.json ./packages/sdk/
COPY packages/cli/package.json ./packages/cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: compiled code, production dependencies, no sources (the CLI's bin runs dist/ when src/ is absent).
FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TZ=UTC \
    TRADEWATCH_WRITER_SPOOL_DIR=/var/lib/tradewatch/spool
WORKDIR /app
# The only writable places: the writer's spool and the generated alerting provisioning (volumes in compose).
# Created here so that a new volume inherits their owner.
RUN mkdir -p /var/lib/tradewatch/spool /var/lib/tradewatch/grafana/deploy/grafana/provisioning/alerting \
    && chown -R node:node /var/lib/tradewatch
COPY --from=deps /app ./
COPY --from=build /build/packages/sdk/dist ./packages/sdk/dist
COPY --from=build /build/packages/cli/dist ./packages/cli/dist
COPY packages/cli/bin ./packages/cli/bin
# The simulator's fault scenarios (tradewatch demo, simulate --scenario).
COPY packages/cli/scenarios ./packages/cli/scenarios
USER node
ENTRYPOINT ["node", "packages/cli/bin/tradewatch.js"]
CMD ["--help"]
