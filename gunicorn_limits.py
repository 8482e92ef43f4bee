"""gunicorn settings of issue 7 (hostile input), kept apart from gunicorn.conf.py.

gunicorn.conf.py should take them over: `from gunicorn_limits import *  # noqa`
(or copy the assignment). Until then: `gunicorn -c gunicorn_limits.py wsgi:app`.

gunicorn answers a header line over `limit_request_field_size` (default 8190 bytes)
itself, with an HTML page the frontend cannot parse. Raised to 128 KiB, such requests
reach the app, which answers JSON: an Authorization header over 8 KiB is a 431
(auth.MAX_AUTHORIZATION_LENGTH), and a bad token of any size a 401. Beyond 128 KiB
gunicorn still refuses on its own (431, HTML), so memory stays bounded.
"""

limit_request_field_size = 128 * 1024
