#!/usr/bin/env bash
# Copies the task's starter repository into the case's workspace (the current directory).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp -R "$here/../../tasks/health-probes/starter/." .
