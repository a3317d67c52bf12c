"""Reading indicators out of what people paste and upload: pure functions over text, no storage.

Formats import nothing of the project but the domain core (checked by import-linter), so every value they
hand on has passed the one canonicaliser, ``commonspace.domain.canonical``.
"""
