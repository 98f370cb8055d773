#!/bin/sh
# One SECC and one EVCC from iso15118 0.31.2 (docs/ev-hlc.md), each process tree (with
# the JVM of its EXI codec) sampled for memory and CPU; 40 s at most each. Run it inside
# veth.sh with SECC_IFACE=evse0 EVCC_IFACE=ev0. Logs go to $OUT (default /tmp/ev-hlc).
HERE=$(cd "$(dirname "$0")" && pwd)
HLC=${HLC:-$HERE/../../.hlc/venv}
OUT=${OUT:-/tmp/ev-hlc}
mkdir -p "$OUT" && cd "$OUT" || exit 1
export LOG_LEVEL=INFO PKI_PATH="$OUT/pki/" PROTOCOLS="${PROTOCOLS:-DIN_SPEC_70121}"
EXAMPLES=$HLC/lib/python3.11/site-packages/iso15118/shared/examples/evcc
export EVCC_CONFIG_PATH="${EVCC_CONFIG_PATH:-$EXAMPLES/DIN/evcc_config.json}"
PY=$HLC/bin/python
date +%s.%N > started
NETWORK_INTERFACE=${SECC_IFACE:-lo} timeout 40 "$PY" -c "from iso15118.secc.main import run; run()" > secc.log 2>&1 &
S=$!
"$PY" "$HERE/sample.py" $S > secc.mem 2>&1 &
sleep 8
NETWORK_INTERFACE=${EVCC_IFACE:-lo} timeout 30 "$PY" -c "from iso15118.evcc.main import run; run()" > evcc.log 2>&1 &
E=$!
"$PY" "$HERE/sample.py" $E > evcc.mem 2>&1 &
wait $E
wait $S
