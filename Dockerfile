# syntax=docker/dockerfile:1
# dns01-webhook: the cert-manager DNS-01 webhook server with the bundled solvers (dnspod, route53, cloudflare, rfc2136).
#   docker build -t dns01-webhook:0.1.0 .
#   buildah build --build-arg BUILD_IMAGE=mirror/node:20-bookworm-slim --build-arg RUNTIME_IMAGE=mirror/nodejs20:nonroot .
# Runs as `node packages/core/dist/cli/main.js serve <flags>` (see charts/dns01-webhook for the flags it gets).

ARG NODE_VERSION=20
# The base images, as build arguments so an air-gapped build can point at a mirror or local stand-ins
# (the e2e tier builds its own: test/e2e/image/base-images.sh). The defaults are the public images.
ARG BUILD_IMAGE=node:${NODE_VERSION}-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot

# ---- build: all dependencies, compile TypeScript ------------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until a package.json or the lock file changes.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/solver-dnspod/package.json packages/solver-dnspod/
COPY packages/solver-route53/package.json packages/solver-route53/
COPY packages/solver-cloudflare/package.json packages/solver-cloudflare/
COPY packages/solver-rfc2136/package.json packages/solver-rfc2136/
COPY test/package.json test/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY packages/ packages/
RUN npm run build

# ---- deps: production dependencies of the shipped workspaces only --------------------------------------------------
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/solver-dnspod/package.json packages/solver-dnspod/
COPY packages/solver-route53/package.json packages/solver-route53/
COPY packages/solver-cloudflare/package.json packages/solver-cloudflare/
COPY packages/solver-rfc2136/package.json packages/solver-rfc2136/
COPY test/package.json test/
# No install scripts: none of the production dependencies has one (esbuild, the only one, is a dev dependency).
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
      --workspace=@dns01-webhook/core \
      --workspace=@dns01-webhook/solver-dnspod \
      --workspace=@dns01-webhook/solver-route53 \
      --workspace=@dns01-webhook/solver-cloudflare \
      --workspace=@dns01-webhook/solver-rfc2136

# ---- runtime: node and the compiled code, no shell, no npm, non-root ----------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/package.json ./
# node_modules/@dns01-webhook/* are workspace symlinks to ../../packages/*; COPY keeps them as links.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/packages/core/package.json packages/core/
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/solver-dnspod/package.json packages/solver-dnspod/
COPY --from=build /app/packages/solver-dnspod/dist packages/solver-dnspod/dist
COPY --from=build /app/packages/solver-route53/package.json packages/solver-route53/
COPY --from=build /app/packages/solver-route53/dist packages/solver-route53/dist
COPY --from=build /app/packages/solver-cloudflare/package.json packages/solver-cloudflare/
COPY --from=build /app/packages/solver-cloudflare/dist packages/solver-cloudflare/dist
COPY --from=build /app/packages/solver-rfc2136/package.json packages/solver-rfc2136/
COPY --from=build /app/packages/solver-rfc2136/dist packages/solver-rfc2136/dist
# The distroless "nonroot" user; numeric so runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8443 9402
# V8's young generation at most 8 MiB per semi-space (Node 20's default is 16): under load it sat full between
# scavenges and was about 20 MiB of the RSS, for no throughput (docs/performance.md, "Memory under load").
# The benchmark runs serve with the flags given here.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "packages/core/dist/cli/main.js", "serve"]
