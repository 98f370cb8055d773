#!/bin/sh
# Inside a private network namespace (unshare -rn): a veth pair stands in for the PLC
# link (SLAC skipped): the SECC on evse0, the EVCC on ev0, link-local addresses only.
set -e
ip link set lo up
ip link add evse0 type veth peer name ev0
sysctl -qw net.ipv6.conf.evse0.accept_dad=0 net.ipv6.conf.ev0.accept_dad=0 || true
ip link set evse0 up
ip link set ev0 up
sleep 1
ip -6 addr show
exec "$(dirname "$0")/run.sh"
