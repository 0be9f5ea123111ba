package store

// Every Redis key the fleet writes outside asynq's own "asynq:" keys is
// named here, and only here. They share the hash tag {store}, so on Redis
// Cluster every multi-key transaction (a job record with the parked hash
// and the member index) stays in one slot; asynq spreads its own keys by
// queue ({mx_polls}, ...). ACL patterns can match "mxfleet:*".
const keyPrefix = "mxfleet:{store}:"

// jobKey holds one job record as JSON.
func jobKey(id string) string { return keyPrefix + "job:" + id }

// parkedKey is the hash of parked jobs: field job id, value Parked JSON.
const parkedKey = keyPrefix + "parked"

// memberKey maps an MX member guid to the job following it (for MX
// webhooks) while that job has not ended: the write that ends the job
// deletes it (casScript), so an ended job keeps only its record.
func memberKey(guid string) string { return keyPrefix + "member:" + guid }

// hooksKey is the set of MX webhook deliveries (digests) that reached a
// job and could wake it, kept for DeliveryWindow from the last one: a
// delivery MX sends again wakes nothing.
func hooksKey(id string) string { return keyPrefix + "hooks:" + id }

// liveKey is the sorted set of jobs that have not ended: member job id,
// score the unix ms of the record's last write. It is written with the
// record in one atomic step; the sweeper reads it to find jobs that went
// quiet.
const liveKey = keyPrefix + "live"

// sweepKey, while it lives, is some worker's turn to sweep; its TTL is the
// sweep interval, so one worker of the fleet sweeps per interval.
const sweepKey = keyPrefix + "sweep"

// eventKey marks a callback event delivered (2xx from the receiver).
func eventKey(id string) string { return keyPrefix + "event:" + id }

// mxRateKey is the fleet-wide MX rate limit's GCRA state (redis_rate adds
// its own "rate:" prefix).
const mxRateKey = keyPrefix + "mx:rate"

// mxPauseKey, while it lives, pauses every MX call in the fleet (MX
// answered 429); its TTL is the pause.
const mxPauseKey = keyPrefix + "mx:pause"

// cacheKey holds a cached copy of something MX serves the same to every
// job (institutions), as JSON, for its TTL.
func cacheKey(name string) string { return keyPrefix + "cache:" + name }
