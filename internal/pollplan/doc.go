// Package pollplan learns how long MX takes and plans when to read a
// member's status: a decaying histogram per key (Estimate) and, from it, a
// schedule of status reads (Config.Schedule, Schedule.Next). Pure logic: no
// Redis, no asynq, no HTTP, no clock of its own.
package pollplan
