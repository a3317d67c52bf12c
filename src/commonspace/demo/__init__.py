"""The demo world: organisations, members, sharing groups and reports for trying Commonspace out."""
