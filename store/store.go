package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
)

// ErrNotFound is returned for a job id with no record.
var ErrNotFound = errors.New("job not found")

// Full tells whether err is a full Redis refusing a write: maxmemory
// reached under maxmemory-policy noeviction, which answers every command
// that could grow memory with "OOM command not allowed when used memory >
// 'maxmemory'" (reads and deletes still run). Nothing is wrong with the
// request: it goes through once memory is freed. asynq passes Redis's
// errors on as text, so the text is what is read.
func Full(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// ErrNoChange, returned by an Update function, ends the update without
// writing anything.
var ErrNoChange = job.ErrNoChange

// DefaultRetention is how long a job record is kept after the job ends.
const DefaultRetention = 7 * 24 * time.Hour

// Store reads and writes job records, the parked hash and the live set.
type Store struct {
	rdb       redis.UniversalClient
	keys      *seal.Keyring
	retention time.Duration
	now       func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithRetention sets how long ended jobs are kept (default 7 days).
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store over rdb. Results (account numbers, owners) are
// sealed with keys before they are written and opened when read.
func New(rdb redis.UniversalClient, keys *seal.Keyring, opts ...Option) *Store {
	if keys == nil {
		panic("store: New needs a keyring: results are never written in the clear")
	}
	s := &Store{rdb: rdb, keys: keys, retention: DefaultRetention, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Create writes j unless a record with its id exists. It returns the
// record that stands afterwards and whether it is the new one.
func (s *Store) Create(ctx context.Context, j *Job) (*Job, bool, error) {
	if err := ValidateID(j.ID); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	j.CreatedAt, j.UpdatedAt = now, now
	b, err := s.encode(j)
	if err != nil {
		return nil, false, err
	}
	ttl := s.liveTTL(j)
	keys := []string{jobKey(j.ID), liveKey, jobKey(j.ID)}
	memberTTL := ""
	if j.MemberGUID != "" && !j.State.Terminal() { // the index is for running jobs only
		keys[2], memberTTL = memberKey(j.MemberGUID), fmt.Sprint(ttl.Milliseconds())
	}
	res, err := createScript.Run(ctx, s.rdb, keys, b, ttl.Milliseconds(), j.ID, liveScore(j), memberTTL).Result()
	if Full(err) {
		return nil, false, fmt.Errorf("store: create job %s: Redis is full, nothing was written (it takes no writes until memory is freed): %w", j.ID, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: create job %s: %w", j.ID, err)
	}
	if old, ok := res.(string); ok {
		existing, err := s.decode(j.ID, []byte(old))
		return existing, false, err
	}
	j.raw = b
	return j, true, nil
}

// createScript writes a new record with its live entry and member index
// in one step, or returns the record that has the id already. SET NX
// writes a new record in one command (a GET first cost one more per job);
// only an id already taken is read.
//
//	KEYS: job, live set, member index (or the job key: unused)
//	ARGV: record, record TTL ms, job id, live score ("": ended), member TTL ms ("": no index)
var createScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('GET', KEYS[1]) end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[5]) end
return 1`)

// Withdraw removes a record Create has just written (j, as Create
// returned it) with its live entry and member index, unless the record
// has changed since: a submission whose start task could not be enqueued
// leaves nothing behind. It tells whether it removed it. Deletes run on a
// full Redis too.
func (s *Store) Withdraw(ctx context.Context, j *Job) (bool, error) {
	if j.raw == nil {
		return false, fmt.Errorf("store: withdraw job %s: not a record Create wrote", j.ID)
	}
	keys := []string{jobKey(j.ID), liveKey, jobKey(j.ID)}
	if j.MemberGUID != "" {
		keys[2] = memberKey(j.MemberGUID)
	}
	n, err := withdrawScript.Run(ctx, s.rdb, keys, j.raw, j.ID).Int()
	if err != nil {
		return false, fmt.Errorf("store: withdraw job %s: %w", j.ID, err)
	}
	return n == 1, nil
}

// withdrawScript deletes a record while it is still ARGV[1], with its
// live entry and its member index while that names the job.
//
//	KEYS: job, live set, member index (or the job key)
//	ARGV: record, job id
var withdrawScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if KEYS[3] ~= KEYS[1] and redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
return 1`)

// liveScore is j's score in the live set, the unix ms of its last write;
// "" for an ended job, which leaves the set.
func liveScore(j *Job) string {
	if j.State.Terminal() {
		return ""
	}
	return strconv.FormatInt(j.UpdatedAt.UnixMilli(), 10)
}

// Get reads a job record.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	return s.get(ctx, id)
}

func resultContext(id string) string { return "job/" + id + "/result" }

// encode writes a job as stored: the result and the person sealed.
func (s *Store) encode(j *Job) ([]byte, error) {
	j.SealedResult = ""
	if j.Result != nil {
		b, err := json.Marshal(j.Result)
		if err != nil {
			return nil, err
		}
		j.SealedResult = s.keys.Seal(resultContext(j.ID), string(b))
	}
	if err := s.sealPerson(j); err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

func (s *Store) get(ctx context.Context, id string) (*Job, error) {
	b, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.decode(id, b)
}

// read is a job's stored record, as stored.
func (s *Store) read(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, jobKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read job %s: %w", id, err)
	}
	return b, nil
}

// decode reads a stored record (b) and opens its sealed result, and with
// it the sealed person (see Job.Person).
func (s *Store) decode(id string, b []byte) (*Job, error) {
	j := Job{raw: b}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("store: decode job %s: %w", id, err)
	}
	if j.SealedResult != "" {
		plain, err := s.keys.Open(resultContext(id), j.SealedResult)
		if err != nil {
			return nil, fmt.Errorf("store: job %s: result: %w", id, err)
		}
		j.Result = new(Result)
		if err := json.Unmarshal([]byte(plain), j.Result); err != nil {
			return nil, fmt.Errorf("store: job %s: decode result: %w", id, err)
		}
		// The owner match needs the person: opened with the result (the
		// same keys), so a record without a result reads without keys.
		if j.Person, err = s.OpenPerson(&j); err != nil {
			return nil, err
		}
	}
	return &j, nil
}

// Update applies fn to the job record atomically: fn sees the current
// record and its changes are written only if nobody changed the record in
// between (compare-and-set; conflicts are retried). fn may run more than
// once, so it must only change the job. Returning ErrNoChange leaves the
// record as it is and returns it with a nil error; any other error is
// returned as is.
//
// The parked hash follows the record in the same atomic step: a
// challenged job whose round nobody has claimed is in it, every other job
// is not.
func (s *Store) Update(ctx context.Context, id string, fn func(*Job) error) (*Job, error) {
	return s.UpdateFrom(ctx, &Job{Record: job.Record{ID: id}}, fn)
}

// UpdateFrom is Update starting from known, a record this caller read
// (Get, Create or an earlier update): the first compare-and-set assumes
// the record is still as known was read, which saves reading it again.
// If it changed since, it is read again and fn applied to the new one.
// fn never sees known itself.
func (s *Store) UpdateFrom(ctx context.Context, known *Job, fn func(*Job) error) (*Job, error) {
	id := known.ID
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	cur, fromKnown := known.raw, known.raw != nil
	for range 50 {
		var j *Job
		var err error
		if cur == nil {
			if j, err = s.get(ctx, id); err == nil {
				cur = j.raw
			}
		} else {
			j, err = s.decode(id, cur)
		}
		if err != nil {
			return nil, err
		}
		wasParked := j.State == StateChallenged && j.ResumeClaim == ""
		oldMember := j.MemberGUID
		if err := fn(j); errors.Is(err, ErrNoChange) {
			if fromKnown {
				// Decided on the caller's copy: decide again on the
				// record as it stands.
				cur, fromKnown = nil, false
				continue
			}
			return j, nil
		} else if err != nil {
			return nil, err
		}
		ok, err := s.cas(ctx, j, cur, wasParked, oldMember)
		if err != nil {
			return nil, fmt.Errorf("store: update job %s: %w", id, err)
		}
		if ok {
			return j, nil
		}
		cur, fromKnown = nil, false // changed under us: read it again
	}
	return nil, fmt.Errorf("store: update job %s: too much contention", id)
}

// casScript writes a job record only if it is still as it was read, with
// the member index, the parked hash and the live set, in one atomic step.
// When the job ends, the same step takes it out of the live set and
// deletes its member index (if the index still names this job: a later
// job may follow the member now), so no crash leaves one without the
// other; ending twice finds nothing more to delete.
//
//	KEYS: job, parked hash, member index (or the job key: unused), live set
//	ARGV: old record, new record, record TTL ms, job id,
//	      member op (TTL ms: set the index; "end": delete it if it names
//	      the job; "": leave it), parked op ("set", "del", ""), parked entry,
//	      live score ("": the job ended and leaves the set)
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == 'end' then
  if KEYS[3] ~= KEYS[1] and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
elseif ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5]) end
if ARGV[6] == 'set' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[7])
elseif ARGV[6] == 'del' then redis.call('HDEL', KEYS[2], ARGV[4]) end
if ARGV[8] == '' then redis.call('ZREM', KEYS[4], ARGV[4])
else redis.call('ZADD', KEYS[4], ARGV[8], ARGV[4]) end
return 1`)

// cas writes j over old; false when the record is no longer old.
func (s *Store) cas(ctx context.Context, j *Job, old []byte, wasParked bool, oldMember string) (bool, error) {
	j.UpdatedAt = s.now().UTC()
	b, err := s.encode(j)
	if err != nil {
		return false, err
	}
	ttl := s.liveTTL(j)
	if j.State.Terminal() {
		ttl = s.retention
	}
	keys := []string{jobKey(j.ID), parkedKey, jobKey(j.ID), liveKey}
	memberOp := ""
	// Only what changed: the member index when the member is new, the
	// parked hash when the job enters or leaves it; an ended job's index
	// goes (every write of an ended record asks: idempotent).
	switch {
	case j.MemberGUID != "" && j.State.Terminal():
		keys[2], memberOp = memberKey(j.MemberGUID), "end"
	case j.MemberGUID != "" && j.MemberGUID != oldMember:
		keys[2], memberOp = memberKey(j.MemberGUID), fmt.Sprint(s.liveTTL(j).Milliseconds())
	}
	op, entry := "", []byte(nil)
	if j.State == StateChallenged && j.ResumeClaim == "" {
		op = "set"
		if entry, err = json.Marshal(Parked{JobID: j.ID, UserGUID: j.UserGUID, MemberGUID: j.MemberGUID,
			Challenges: j.Challenges, Round: j.Round, ExpiresAt: j.ChallengeExp}); err != nil {
			return false, err
		}
	} else if wasParked {
		op = "del"
	}
	n, err := casScript.Run(ctx, s.rdb, keys, old, b, ttl.Milliseconds(), j.ID, memberOp, op, entry, liveScore(j)).Int()
	if err != nil || n == 0 {
		return false, err
	}
	j.raw = b
	return true, nil
}

// liveTTL bounds a job that has not ended: past its deadline it is ended
// by the worker, so the record can never outlive deadline + retention.
func (s *Store) liveTTL(j *Job) time.Duration {
	if j.Deadline.IsZero() {
		return 24*time.Hour + s.retention
	}
	if left := j.Deadline.Sub(s.now()); left > 0 {
		return left + s.retention
	}
	return s.retention
}

// Parked lists the jobs parked on a challenge.
func (s *Store) Parked(ctx context.Context) ([]Parked, error) {
	m, err := s.rdb.HGetAll(ctx, parkedKey).Result()
	if err != nil {
		return nil, fmt.Errorf("store: list parked: %w", err)
	}
	out := make([]Parked, 0, len(m))
	for id, v := range m {
		var p Parked
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("store: decode parked %s: %w", id, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParkedCount is how many jobs wait for MFA answers.
func (s *Store) ParkedCount(ctx context.Context) (int64, error) {
	return s.rdb.HLen(ctx, parkedKey).Result()
}

// Ping checks that the Redis holding the store's keys answers (on a
// Cluster, the master of their slot: a PING would reach any node).
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Exists(ctx, parkedKey).Err() }

// PingSlot tells whether Redis answers on the slot of hash tag tag (an
// asynq queue's keys are under the tag {queue}): one EXISTS of a key of
// the store's that is never written, with no other hash tag before tag's.
func (s *Store) PingSlot(ctx context.Context, tag string) error {
	return s.rdb.Exists(ctx, "mxfleet:slot:{"+tag+"}").Err()
}

// GetParked reads one parked entry; ErrNotFound when the job is not parked.
func (s *Store) GetParked(ctx context.Context, id string) (*Parked, error) {
	v, err := s.rdb.HGet(ctx, parkedKey, id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("job %s is not parked: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read parked %s: %w", id, err)
	}
	var p Parked
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("store: decode parked %s: %w", id, err)
	}
	return &p, nil
}

// Delete removes everything the store holds for a job.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	j, err := s.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		j = nil // unreadable (e.g. a rotated-away key): delete it anyway
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, jobKey(id))
		p.HDel(ctx, parkedKey, id)
		p.ZRem(ctx, liveKey, id)
		p.Del(ctx, hooksKey(id))
		if j != nil && j.MemberGUID != "" {
			p.Del(ctx, memberKey(j.MemberGUID))
		}
		return nil
	})
	return err
}

// Live is a job that has not ended, and when its record was last written.
type Live struct {
	ID      string
	Written time.Time
}

// Quiet lists, oldest first, up to limit jobs that have not ended and
// whose records were last written at or after from and at or before
// before (in milliseconds),
// skipping the first skip of them (jobs written in the same millisecond
// as from that an earlier page listed).
func (s *Store) Quiet(ctx context.Context, from, before time.Time, skip, limit int) ([]Live, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, liveKey, &redis.ZRangeBy{Min: strconv.FormatInt(from.UnixMilli(), 10),
		Max: strconv.FormatInt(before.UnixMilli(), 10), Offset: int64(skip), Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: list quiet jobs: %w", err)
	}
	out := make([]Live, 0, len(zs))
	for _, z := range zs {
		id, _ := z.Member.(string)
		out = append(out, Live{ID: id, Written: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// forgetScript removes a live entry unless it was written after ARGV[2]
// (a job created again under the same id keeps its new entry).
var forgetScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`)

// Forget removes the live entry l of a job that ended or is gone, while
// the entry is still as listed. It tells whether it removed it.
func (s *Store) Forget(ctx context.Context, l Live) (bool, error) {
	n, err := forgetScript.Run(ctx, s.rdb, []string{liveKey}, l.ID, l.Written.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("store: forget live job %s: %w", l.ID, err)
	}
	return n == 1, nil
}

// SweepTurn tells whether the caller may sweep now: the first worker of
// the fleet to ask in each interval of length every may.
func (s *Store) SweepTurn(ctx context.Context, every time.Duration) (bool, error) {
	return s.rdb.SetNX(ctx, sweepKey, "1", every).Result()
}

// JobByMember returns the id of the running job that follows an MX member.
func (s *Store) JobByMember(ctx context.Context, memberGUID string) (string, error) {
	id, err := s.rdb.Get(ctx, memberKey(memberGUID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("member %s: %w", truncate(memberGUID, 60), ErrNotFound)
	}
	return id, err
}

// Peek reads a job record without opening its sealed parts (the result,
// the person): what finding and deciding about a job takes, for a record
// whose result no key opens any more too. It writes nothing.
func (s *Store) Peek(ctx context.Context, id string) (*job.Record, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	b, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	var r job.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("store: decode job %s: %w", id, err)
	}
	return &r, nil
}

// DeliveryWindow is how long a webhook delivery is remembered: MX sends
// one it did not see acknowledged again, "no more than 12 total retries
// after an initial request" over "approximately 24 hours"
// (docs.mx.com/resources/webhooks), plus an hour.
const DeliveryWindow = 25 * time.Hour

// firstDeliveryScript adds a delivery to a job's set and, when it is new,
// extends the set's life to the delivery window.
//
//	KEYS: hooks set
//	ARGV: delivery digest, window ms
var firstDeliveryScript = redis.NewScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// FirstDelivery records that the webhook delivery digest (the caller's
// hash of it) may wake job id, and tells whether it is the first time
// within DeliveryWindow: MX's retries and duplicates of a delivery then
// wake the job once. Called only for a job a webhook may wake, so late
// webhooks for ended or unknown jobs write nothing.
func (s *Store) FirstDelivery(ctx context.Context, id, digest string) (bool, error) {
	if err := ValidateID(id); err != nil {
		return false, err
	}
	n, err := firstDeliveryScript.Run(ctx, s.rdb, []string{hooksKey(id)}, digest, DeliveryWindow.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: webhook delivery for job %s: %w", id, err)
	}
	return n == 1, nil
}

// SinceDelivery tells how long ago the latest webhook delivery that may
// wake job id was recorded (FirstDelivery), read from the delivery set's
// remaining life: nothing is written for it. ok is false when no delivery
// came within DeliveryWindow.
func (s *Store) SinceDelivery(ctx context.Context, id string) (since time.Duration, ok bool, err error) {
	left, err := s.rdb.PTTL(ctx, hooksKey(id)).Result()
	if err != nil {
		return 0, false, fmt.Errorf("store: webhook deliveries of job %s: %w", id, err)
	}
	if left <= 0 { // no key (-2), or one without expiry (-1): no delivery recorded
		return 0, false, nil
	}
	return max(DeliveryWindow-left, 0), true, nil
}

// Delivered tells whether a callback event was delivered.
func (s *Store) Delivered(ctx context.Context, eventID string) (bool, error) {
	n, err := s.rdb.Exists(ctx, eventKey(eventID)).Result()
	return n == 1, err
}

// ForgetDelivered removes delivery marks (a purged job's id may be reused).
func (s *Store) ForgetDelivered(ctx context.Context, eventIDs ...string) error {
	keys := make([]string, 0, len(eventIDs))
	for _, id := range eventIDs {
		keys = append(keys, eventKey(id))
	}
	if len(keys) == 0 {
		return nil
	}
	return s.rdb.Del(ctx, keys...).Err()
}

// MarkDelivered records a callback event as delivered, for the retention.
func (s *Store) MarkDelivered(ctx context.Context, eventID string) error {
	return s.rdb.Set(ctx, eventKey(eventID), "1", s.retention).Err()
}
