package beacon

// Layout places beacons for one beacon interval.
type Layout struct {
	Interval int64
}

// IsBoundary reports whether a beacon belongs at offset off.
func (l Layout) IsBoundary(off int64) bool { return off > 0 && off%l.Interval == 0 }

// Room returns how many bytes may be written at off before the next beacon.
func (l Layout) Room(off int64) int64 { return l.Interval - off%l.Interval }

// Offset returns the offset of the nth beacon (n ≥ 1).
func (l Layout) Offset(n int) int64 { return int64(n) * l.Interval }

// Count returns how many beacon positions lie below size: beacons 1..Count.
func (l Layout) Count(size int64) int {
	if size <= 0 {
		return 0
	}
	return int((size - 1) / l.Interval)
}
