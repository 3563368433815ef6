#!/usr/bin/env bash
# Install the OSRM executables (osrm-extract, osrm-contract, osrm-partition, osrm-customize, osrm-routed) that
# vrpkit's "osrm" matrix provider runs on local .osm.pbf extracts. They come from the PyPI wheel osrm-bindings
# (built for Python >= 3.12; its executables run anywhere, so they are unpacked rather than pip-installed).
#
#   scripts/install_osrm.sh            # into ~/.cache/vrpkit/osrm/bin-<version> (or $VRPKIT_CACHE_DIR/osrm/...),
#                                      # where vrpkit finds them without further settings
#   scripts/install_osrm.sh DIR        # into DIR; then export VRPKIT_OSRM_BIN=DIR/bin
#
# Set PYTHON to the interpreter of the environment vrpkit is installed in (default: python).
set -euo pipefail
exec "${PYTHON:-python}" -m vrpkit.roads.install ${1:+--dest "$1"}
