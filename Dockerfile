# syntax=docker/dockerfile:1
# mxfleet: one static binary (worker, api, producers, simulator) on distroless.
#   docker build -t ghcr.io/mxfleet/mxfleet:dev .
#   docker run --rm ghcr.io/mxfleet/mxfleet:dev worker --help
# The default command is `mxfleet worker`; `api` and `sim --addr 0.0.0.0:8089` use the same image.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only the Go sources (there is no .dockerignore): no .git, docs or test data in the context layers.
COPY cmd ./cmd
COPY internal ./internal
COPY handlers ./handlers
COPY job ./job
COPY match ./match
COPY mx ./mx
COPY store ./store
COPY tasks ./tasks
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/mxfleet ./cmd/mxfleet

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="mxfleet" \
      org.opencontainers.image.description="MX Platform API verification and identification worker fleet on asynq and Redis (worker, HTTP API, MX simulator)" \
      org.opencontainers.image.source="https://github.com/mxfleet/mxfleet" \
      org.opencontainers.image.licenses="NOASSERTION" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/mxfleet /usr/local/bin/mxfleet
# distroless "nonroot" is uid/gid 65532; numeric so runAsNonRoot can verify it.
USER 65532:65532
# 8080: `mxfleet api` (MXFLEET_API_ADDR=0.0.0.0:8080); 9090: the worker's /metrics, /healthz, /readyz
# (MXFLEET_METRICS_ADDR=0.0.0.0:9090). Both default to 127.0.0.1: set them in containers.
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/mxfleet"]
CMD ["worker"]
