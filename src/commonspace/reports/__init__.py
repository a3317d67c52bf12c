"""Reports, their indicators, tags and sightings; search."""
