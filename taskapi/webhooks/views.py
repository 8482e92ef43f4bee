"""The webhooks blueprint: a user's endpoints that hear about task changes and
due reminders (both route families, as tasks are: core/routes.py). At most 10 each."""

from flask import g, request
from flask.views import MethodView

from ..core.etags import conditional_get, etag_of, if_match
from ..core.routes import STRING, WEBHOOKS, UserBlueprint
from . import service as webhooks
from .schemas import (
    DeliverySchema,
    NewWebhookSchema,
    WebhookCreateSchema,
    WebhookSchema,
)

blp = UserBlueprint(
    "webhooks",
    __name__,
    description="Webhooks: signed POSTs (Standard Webhooks) of the user's task "
    "events and due reminders, retried for 24 hours.",
    scope=WEBHOOKS,
)
route, doc_errors = blp.both_routes, blp.doc_errors


@route("/webhooks", "webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    @doc_errors()
    def get(self):
        """List the user's webhooks, oldest first"""
        return webhooks.get_webhooks(g.user_id)

    @blp.arguments(WebhookCreateSchema())
    @blp.response(201, NewWebhookSchema, headers={"Location": STRING, "ETag": STRING})
    @blp.alt_response(409, description="Already 10 webhooks")
    @doc_errors(400, 413, 415)
    def post(self, fields):
        """Register a webhook (its secret is in this answer only)"""
        created = webhooks.create_webhook(g.user_id, fields)
        location = f"{request.path}/{created.id}"
        return created, {"Location": location, "ETag": etag_of(created)}


@route("/webhooks/<webhook_id>", "webhook")
class WebhookById(MethodView):
    @blp.response(200, WebhookSchema, headers={"ETag": STRING})
    @blp.alt_response(304, description="Not modified: If-None-Match names the ETag")
    @doc_errors(404)
    def get(self, webhook_id):
        """Get a webhook"""
        return conditional_get(webhooks.get_webhook(g.user_id, webhook_id))

    @blp.response(204)
    @doc_errors(404, 412)
    def delete(self, webhook_id):
        """Delete a webhook (its undelivered events are dropped)"""
        webhooks.delete_webhook(g.user_id, webhook_id, if_match())


@route("/webhooks/<webhook_id>/deliveries", "webhook_deliveries")
class WebhookDeliveries(MethodView):
    @blp.response(200, DeliverySchema(many=True))
    @doc_errors(404)
    def get(self, webhook_id):
        """The webhook's last 50 delivery attempts, newest first"""
        return webhooks.get_deliveries(g.user_id, webhook_id)
