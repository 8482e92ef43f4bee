"""taskapi: a task-management REST API for browser frontends."""

from flask import Flask

from .config import Config, config_from_env


def create_app(config_class: type[Config] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    config = (config_class or config_from_env())(app.instance_path)
    app.config.from_object(config)

    from . import cli
    from .accounts.views import blp as account_blueprint
    from .auth import bearer as auth
    from .batch.views import blp as batch_blueprint
    from .calendars.views import blp as calendar_feeds_blueprint
    from .calendars.views import feeds as calendar_blueprint
    from .changes.views import blp as changes_blueprint
    from .core import db, errors, jsonio
    from .extensions import api, cors, jwt
    from .lists.views import blp as lists_blueprint
    from .mcp import views as mcp_bridge
    from .mcp.views import blp as mcp_blueprint
    from .portability.views import blp as portability_blueprint
    from .quickadd.views import blp as quickadd_blueprint
    from .reminders.views import blp as reminders_blueprint
    from .sharing.views import blp as sharing_blueprint
    from .tasks import ordering
    from .tasks.views import blp as tasks_blueprint
    from .tokens.views import blp as tokens_blueprint
    from .web import docs, logs, ratelimit, security
    from .web.health import blp as health_blueprint
    from .webhooks.views import blp as webhooks_blueprint

    app.json = jsonio.ORJSONProvider(app)
    jsonio.init_app(app)  # bodies larger than MAX_CONTENT_LENGTH where declared
    logs.init_app(app)
    if app.config.get("GENERATED_SECRET_PATH"):
        app.logger.warning(
            "No BETTER_AUTH_SECRET set: using a generated development secret "
            "(kept in %s). Tokens from `flask create-token` match it; set "
            "BETTER_AUTH_SECRET to the frontend's secret to accept its tokens.",
            app.config["GENERATED_SECRET_PATH"],
        )
    db.init_app(app)
    ordering.init_app(app)  # a SQL function SQLite lacks
    jwt.init_app(app)
    # Both per request, in this order: who is calling, then their rate limit.
    user_blueprints = [
        tasks_blueprint,
        quickadd_blueprint,
        lists_blueprint,
        sharing_blueprint,
        reminders_blueprint,
        changes_blueprint,
        batch_blueprint,
        mcp_blueprint,
        webhooks_blueprint,
        tokens_blueprint,
        calendar_feeds_blueprint,
        portability_blueprint,
        account_blueprint,
    ]
    auth.init_app(app, protected_blueprints=user_blueprints)
    ratelimit.init_app(app, limited_blueprints=user_blueprints)
    security.init_app(app)
    cors.init_app(app)  # config.py's CORS_* keys
    api.init_app(app)
    docs.init_app(app)
    api.register_blueprint(health_blueprint)
    api.register_blueprint(tasks_blueprint)
    api.register_blueprint(quickadd_blueprint)
    api.register_blueprint(lists_blueprint)
    api.register_blueprint(sharing_blueprint)
    api.register_blueprint(reminders_blueprint)
    api.register_blueprint(changes_blueprint)
    api.register_blueprint(batch_blueprint)
    app.register_blueprint(mcp_blueprint)
    mcp_bridge.init_app(app)
    api.register_blueprint(webhooks_blueprint)
    api.register_blueprint(tokens_blueprint)
    api.register_blueprint(calendar_feeds_blueprint)
    api.register_blueprint(portability_blueprint)
    api.register_blueprint(account_blueprint)
    # The feed documents: no token (the URL's secret), rate limited per feed.
    app.register_blueprint(calendar_blueprint)
    errors.init_app(app)
    cli.init_app(app)

    return app
