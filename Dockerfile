# syntax=docker/dockerfile:1
# One Dockerfile, one image per service: `docker build --target gateway|worker|notifier .`
# The three services share one pnpm workspace, so they share the build stage: the
# workspace is installed and compiled once, then `pnpm deploy` copies out each service
# with only its production dependencies. Three Dockerfiles would repeat that stage.
# The migration runs from the gateway image (`node node_modules/@transcribe/db/dist/migrate-cli.js`).

# Node 22: the AWS SDK for JavaScript drops Node 20 in 2027.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Corepack's signature check fails behind some registries; pnpm's version is pinned in
# package.json and the lockfile carries integrity hashes.
ENV COREPACK_INTEGRITY_KEYS=0 CI=true
RUN corepack enable
WORKDIR /src
# Dependencies first, from the lockfile alone, so code changes reuse this layer.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch --frozen-lockfile
COPY tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec tsc -b services/gateway services/worker services/notifier
# The web app (services/gateway/web) into services/gateway/dist/ui, served by the gateway.
RUN pnpm --filter @transcribe/gateway build:web
# --legacy: the workspace does not inject its packages (inject-workspace-packages is off).
# Sources, tests and declaration files of our own packages are not needed at run time.
RUN for s in gateway worker notifier; do \
      pnpm --filter "@transcribe/$s" deploy --legacy --prod "/out/$s" \
      && rm -rf "/out/$s/src" "/out/$s/test" "/out/$s/web" "/out/$s/tsconfig.json" \
      && find "/out/$s/node_modules/.pnpm" -maxdepth 1 -name '@transcribe+*' -print0 \
         | xargs -0 -I{} sh -c 'rm -rf {}/node_modules/@transcribe/*/src {}/node_modules/@transcribe/*/test' \
      && find "/out/$s" \( -name '*.d.ts' -o -name '*.d.ts.map' -o -name '*.tsbuildinfo' \) -path '*/dist/*' -delete \
      || exit 1; \
    done \
  # whisper.cpp's CUDA and Vulkan builds (~240 MB) and its browser build: the worker asks
  # for the CPU build (useGpu: false). A GPU image would keep the variant it uses.
  && rm -rf /out/worker/node_modules/.pnpm/@fugood+node-whisper-*-cuda@* \
            /out/worker/node_modules/.pnpm/@fugood+node-whisper-*-vulkan@* \
            /out/worker/node_modules/.pnpm/@fugood+node-whisper-wasm@*

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Numeric uid of the image's `node` user, so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

FROM runtime AS gateway
# Files stay owned by root: the service cannot rewrite its own code.
COPY --from=build /out/gateway /app
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GATEWAY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]

FROM runtime AS notifier
COPY --from=build /out/notifier /app
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.NOTIFIER_PORT||8081)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]

FROM runtime AS worker
USER root
# ffmpeg/ffprobe for the media pipeline, PocketSphinx and its English model for the
# offline engine; tini reaps the ffmpeg and pocketsphinx children and forwards SIGTERM.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
     ffmpeg pocketsphinx pocketsphinx-en-us tini \
  && rm -rf /var/lib/apt/lists/*
USER 1000:1000
COPY --from=build /out/worker /app
# Scratch space for downloads and normalised audio; mount a volume here in production.
ENV TMP_DIR=/tmp
EXPOSE 9091
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9091)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
