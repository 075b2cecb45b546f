package delta

// Series returns the number of series the decoder's bases hold, over all
// targets: what its memory grows with. The cloud bounds it per tenant.
func (d *Decoder) Series() int {
	n := 0
	for _, st := range d.targets {
		n += len(st.slots)
	}
	return n
}
