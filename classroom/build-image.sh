#!/usr/bin/env bash
# The class's single-user image: the Binder image repo2docker builds from binder/ (requirements.txt,
# apt.txt, postBuild: the toolkit, JupyterLab, pre-fetched weights), plus nbgrader, which the
# students' servers need for fetching and submitting (Binder itself does not).
#   classroom/build-image.sh REGISTRY/NAME:TAG [--push]
# Needs Docker and `pip install jupyter-repo2docker`; classroom/values.yaml names the image.
set -euo pipefail
image="${1:?usage: classroom/build-image.sh REGISTRY/NAME:TAG [--push]}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# the nbgrader the classroom test runs (tests/test_classroom.py, the dev extra installs it)
appendix='RUN python -m pip install --no-cache-dir "nbgrader==0.9.6"'
jupyter-repo2docker --no-run --user-name jovyan --user-id 1000 \
  --image-name "$image" --appendix "$appendix" "$root"
if [ "${2:-}" = "--push" ]; then docker push "$image"; fi
