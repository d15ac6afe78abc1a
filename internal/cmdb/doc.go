// Package cmdb is the configuration management database: classes of
// configuration items (CIs) with typed attributes, the CIs themselves with
// their full history, typed directed relationships with redundancy rules,
// impact analysis over an in-memory copy of the graph, import, export and
// discovery reconciliation, and the configuration audit. Services are CIs of
// the business_service class: each service row points at its CI.
package cmdb
