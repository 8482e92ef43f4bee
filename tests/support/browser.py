"""A real browser: Debian's Chromium and chromedriver, and the flags that keep it
offline and quiet."""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # tests run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling Google's servers, which on a machine
    # with no internet costs seconds per page.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host name but localhost fails to resolve: a page that needs the
    # internet shows it, instead of working here and failing offline elsewhere.
    "--host-resolver-rules=MAP localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1600",
]
