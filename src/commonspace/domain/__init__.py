"""The pure core: vocabulary, canonicalisation, taxonomies. Imports nothing else of the project."""
