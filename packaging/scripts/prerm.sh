#!/bin/sh
# edgerelay prerm: stop the service before its binary goes (not on upgrade).
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl disable --now edgerelay >/dev/null 2>&1 || true
fi
exit 0
