"""Discussions: the thread under each report, and forum topics shared with the community or a group."""
