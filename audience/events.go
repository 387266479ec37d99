package audience

// Event is one contact entering or leaving one registered segment.
type Event struct {
	Contact string `json:"contact"` // the contact's id
	Segment string `json:"segment"` // the segment's key (its id, or its name without one)
	Entered bool   `json:"entered"` // false: exited
}
