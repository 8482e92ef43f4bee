"""Operational endpoints that need no token."""

from flask.views import MethodView
from sqlalchemy import text

from ..core.db import Session
from ..core.routes import Blueprint

blp = Blueprint(
    "health",
    __name__,
    url_prefix="/health",
    description="Liveness and readiness probes for load balancers and PaaS routers.",
)


@blp.route("")
class Health(MethodView):
    @blp.response(200)
    @blp.doc(security=[])
    def get(self):
        """Liveness: the process answers. Does not touch the database."""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    @blp.doc(security=[])
    def get(self):
        """Readiness: one database round trip; 503 with Retry-After if it fails."""
        Session.execute(text("SELECT 1"))
        return {"status": "ok"}
