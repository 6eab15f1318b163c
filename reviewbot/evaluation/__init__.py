"""`reviewbot eval`: scoring reviews against golden findings, and building labelled sets."""
