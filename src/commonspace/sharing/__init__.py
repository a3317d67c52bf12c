"""Sharing groups: named sets of organisations; a bilateral channel is a group of two."""
