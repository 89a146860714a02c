# Jack: build with dev dependencies, run with production dependencies only.
#   docker build -t jack .
#   docker run --rm -p 50051:50051 jack
# The image's own Node 24 runs the service; the `node` dev dependency (which
# pins Node for local development) is never installed in the runtime stage.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript (src/gen is committed, so no buf generate) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The console (SPEC §18): bundled into dist/console, served at / on HTTP_PORT.
COPY console ./console
COPY scripts/build-console.mjs ./scripts/
RUN npm run build

# --- production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# Reflection loads the .proto files at runtime (dist/api/../../proto).
COPY proto ./proto
# A place for CONFIG_DIR (mount a volume here), writable by the service user.
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 50051
# grpc.health.v1 Check of the whole server ('') on GRPC_PORT: exit 0 only on SERVING.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
# Exec form: node is PID 1's only process, so SIGTERM from `docker stop`
# reaches it and starts the graceful shutdown.
CMD ["node", "dist/main.js"]
