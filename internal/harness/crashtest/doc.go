// Package crashtest holds the fleet's process-level crash tests: a worker
// process killed with SIGKILL mid-job (its tasks come back once asynq's
// lease runs out, about a minute) and one stopped with SIGTERM. They run
// real worker processes against a real Redis and the simulator, and live
// here, outside package handlers, so that the handlers' own tests stay
// fast; they are test tooling, imported by nothing.
package crashtest
