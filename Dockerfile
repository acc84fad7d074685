# syntax=docker/dockerfile:1
#
# One image, three roles (api, router, dispatcher), chosen at run time with HOOKLINE_ROLES.
#   docker build -t hookline:dev .
#   docker run --rm -e HOOKLINE_ROLES=api -p 8080:8080 hookline:dev
#   docker run --rm --entrypoint node hookline:dev dist/scripts/migrate.js
# Pin the base image by digest in your registry mirror for reproducible production builds.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: full dependency set, compile TypeScript to dist/ ---------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY shared ./shared
COPY services ./services
COPY scripts ./scripts
# npm run build also bundles the console (services/console) into dist/console, which the api serves.
RUN npm run build

# --- prod-deps: production dependencies only ---------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# HOOKLINE_HOST: a container is reached through its own interfaces, never its loopback.
ENV NODE_ENV=production \
    PORT=8080 \
    HOOKLINE_HOST=0.0.0.0
WORKDIR /app
# Files stay owned by root and are only readable by the app user: the process cannot rewrite its own code.
# package.json is needed at run time: its "type": "module" makes node load dist/ as ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY migrations ./migrations
COPY --from=build /app/dist ./dist
# 1000:1000 is the `node` user of the official image; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# Exec form, node as PID 1: SIGTERM reaches the process directly and it drains within
# HOOKLINE_SHUTDOWN_GRACE_MS (npm start would swallow the signal and use the dev-only tsx loader).
ENTRYPOINT ["node", "dist/services/all/main.js"]
