# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mxfleet ./cmd/mxfleet

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mxfleet /usr/local/bin/mxfleet
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/mxfleet"]
CMD ["worker"]
