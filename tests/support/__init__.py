"""What the tests build on that is not a fixture, by concern (fixtures are in
tests/conftest.py): environment, users, servers, databases, sql, better_auth,
responses, browser, webhooks."""
