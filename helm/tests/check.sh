#!/usr/bin/env bash
# Checks the Helm chart: strict lint, every value set in values/ rendered and validated against the
# Kubernetes schemas, and the assertions of test_chart.py. Installs nothing: it needs a Python venv
# with helm-python-sdk and kubernetes-validate (`.ci/run` prepares `.venv-tools`; another venv can
# be named with TRIBUTARY_TOOLS_VENV).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${TRIBUTARY_TOOLS_VENV:-.venv-tools}"
python="$venv/bin/python"
if ! "$python" -c 'import helm_python, kubernetes_validate' 2>/dev/null; then
  echo "helm/tests/check.sh: $venv lacks helm-python-sdk or kubernetes-validate" >&2
  echo "  python3 -m venv $venv && $venv/bin/pip install helm-python-sdk==0.2.2 kubernetes-validate==1.37.0" >&2
  exit 1
fi
PYTHONDONTWRITEBYTECODE=1 exec "$python" -m unittest helm/tests/test_chart.py
