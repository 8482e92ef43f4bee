"""Flask extensions, created bare here and init_app'ed by the factory."""

import flask_smorest
from flask_cors import CORS
from flask_jwt_extended import JWTManager

from .core.errors import ErrorSchema, http_error


class Api(flask_smorest.Api):
    """flask-smorest's Api answering errors with the contract's JSON body."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return http_error(error)


api = Api()
jwt = JWTManager()
cors = CORS()
