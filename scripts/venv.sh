# Sourced by the scripts: make .venv and install REQUIREMENTS_FILE into it.
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
echo "== installing $1 into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$1"
