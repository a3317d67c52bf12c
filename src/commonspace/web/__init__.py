"""The HTTP layer: app factory, authentication, error bodies; routers live in each feature package."""
