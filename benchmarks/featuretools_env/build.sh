#!/usr/bin/env bash
# Build the separate virtual environment featuretools runs in.
#
# featuretools 1.31 does not work with pandas 3 (WoodworkNotInitError), which riskml
# requires, so the panel benchmark runs it as a subprocess from its own venv with
# pandas < 3. Usage (from the repository root):
#
#     bash benchmarks/featuretools_env/build.sh            # -> benchmarks/.ft-venv
#     bash benchmarks/featuretools_env/build.sh /some/dir  # elsewhere
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/../.ft-venv}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" -c "import featuretools, pandas; print('featuretools', featuretools.__version__, 'pandas', pandas.__version__)"
