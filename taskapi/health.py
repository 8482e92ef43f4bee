"""Operational endpoints that need no token."""

from flask.views import MethodView

from .extensions import Blueprint

blp = Blueprint("health", __name__, url_prefix="/health", description="Liveness.")


@blp.route("")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """Liveness: the process answers. Does not touch the database."""
        return {"status": "ok"}
