package incident

// TopologyCopy returns the revision of a Manager's copy of incident_cis (0:
// none) and how many batches it served since it was read, for tests.
func TopologyCopy(m *Manager) (revision int64, served int) {
	m.cis.mu.Lock()
	defer m.cis.mu.Unlock()
	return m.cis.rev, m.cis.served
}

// QueryTopology makes a Manager read incident_cis from the database for
// every batch, as it does while other replicas keep changing it.
func QueryTopology(m *Manager) {
	m.cis.mu.Lock()
	defer m.cis.mu.Unlock()
	m.cis.clear()
	m.cis.wait = 1 << 40
}
