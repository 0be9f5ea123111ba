package store

// Every Redis key the fleet writes outside asynq's own "asynq:" keys is
// named here, and only here.
const keyPrefix = "mxfleet:"

// jobKey holds one job record as JSON.
func jobKey(id string) string { return keyPrefix + "job:" + id }

// parkedKey is the hash of parked jobs: field job id, value Parked JSON.
const parkedKey = keyPrefix + "parked"
