# syntax=docker/dockerfile:1
# Auto-Dev: one image for every process (`autodev serve dashboard|webhook|scheduler|agent:ROLE`, `autodev db migrate`).
# Build: docker build --platform linux/amd64 -t auto-dev:local .   (docs/OPERATIONS.md: push to ECR, run on ECS)
# Only Debian packages and npm are fetched; nothing is downloaded with curl or wget.

ARG NODE_IMAGE=node:20.19-bookworm-slim

# --- build: all dependencies, TypeScript and the dashboard compiled, then the dev dependencies pruned ----------------
FROM --platform=linux/amd64 ${NODE_IMAGE} AS build
# better-sqlite3 is compiled from source against the image's own Node headers (/usr/local/include/node), so npm ci
# downloads no prebuilt binary from GitHub and node-gyp no headers from nodejs.org.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_audit=false \
    npm_config_fund=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
# tsconfig.build.json compiles test/support too (the test helpers' processes); nothing at runtime uses it.
COPY test/support ./test/support
COPY web ./web
COPY config ./config
COPY examples ./examples
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies, the built code, bubblewrap and git --------------------------------------------
FROM --platform=linux/amd64 ${NODE_IMAGE} AS runtime
# bubblewrap: the agents' sandbox (docs/OPERATIONS.md "The sandbox in a container"); git: clones, worktrees, merges.
RUN apt-get update \
  && apt-get install -y --no-install-recommends bubblewrap git ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    AUTODEV_DATA_DIR=/data \
    HOME=/home/node
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/web/dist ./web/dist
COPY --from=build --chown=root:root /app/config ./config
COPY --from=build --chown=root:root /app/examples ./examples
COPY --chown=root:root deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# The agent CLIs ship inside the npm dependencies (linux-x64 builds, picked by npm ci on this platform): Claude Code in
# @anthropic-ai/claude-agent-sdk-linux-x64, Codex in @openai/codex-linux-x64 (its launcher is node_modules/.bin/codex).
# Linked onto PATH for `claude login` / `codex login` by hand; the build fails here when either is missing.
RUN ln -s /app/dist/cli/autodev.js /usr/local/bin/autodev \
  && ln -s /app/node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude /usr/local/bin/claude \
  && ln -s /app/node_modules/.bin/codex /usr/local/bin/codex \
  && chmod 0755 /app/dist/cli/autodev.js \
  && claude --version \
  && codex --version \
  && bwrap --version \
  && mkdir -p /data \
  && chown node:node /data \
  && chmod 0700 /data
# Non-root: the image's `node` user (uid 1000). The application files stay root-owned, so a process cannot rewrite them.
USER node
VOLUME ["/data"]
EXPOSE 8080 8081
# Liveness of the dashboard by default; compose and the ECS task definitions set AUTODEV_HEALTHCHECK per service
# (deploy/healthcheck.mjs: a `/health` or `/ready` URL; agent and scheduler processes serve them on --health-port).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "/app/deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "/app/dist/cli/autodev.js"]
CMD ["serve", "dashboard", "--host", "0.0.0.0", "--port", "8080"]
