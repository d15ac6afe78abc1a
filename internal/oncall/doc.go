// Package oncall answers "who is paged, and when": on-call schedules
// (rotations in layers, with overrides, in a time zone), escalation policies
// (ordered levels of users, schedules and teams, repeated), and the escalation
// engine that walks an incident's policy on durable timers kept in the
// database.
package oncall
