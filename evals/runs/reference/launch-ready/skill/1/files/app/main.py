"""The bookings API on the production templates (app/core): settings, JSON logs, request IDs, security headers,
body limit, problem+json errors, probes, lifespan-managed resources."""

from app.core.main import create_app
from app.routes import router

app = create_app(routers=[router])
