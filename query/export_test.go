package query

// SetMaxSavedSegments lowers the saved-segment limit for a test and
// returns a function that restores it.
func SetMaxSavedSegments(n int) (restore func()) {
	old := maxSavedSegments
	maxSavedSegments = n
	return func() { maxSavedSegments = old }
}
