// Package layers checks, in its test, that the fleet's layers stay as its
// docs say (docs/architecture.md): no product package imports the harness
// (internal/harness/...); package job decides with no I/O; only store
// touches Redis keys (asynq's own through asynq's API); only package mx
// speaks HTTP to MX. It holds no code: run `go test ./internal/harness/layers`.
package layers
