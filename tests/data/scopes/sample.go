package cart

type Cart struct {
	Items []int
}

func (c *Cart) Total() int {
	t := 0
	for _, i := range c.Items {
		t += i
	}
	return t
}
