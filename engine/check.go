package engine

// Check verifies the store's invariants and returns what is wrong (empty when
// all hold). See checkStore.
func (db *DB) Check() ([]string, error) {
	return nil, nil
}
