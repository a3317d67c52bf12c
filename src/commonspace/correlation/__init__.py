"""Correlation: which reports share a value (equal, an address inside a network, a domain and what lies
under it), among those a member may see; and the per-value counts that bound the work."""
