import pytest


@pytest.fixture(scope="module")
def mcp_url(live_server):
    return live_server.url
