#!/bin/sh
# edgerelay postinst: the service's system user, and systemd's view of the unit.
# The service is not enabled: /etc/edgerelay/edge.yaml needs this gateway's
# tenant, site and upstream first (systemctl enable --now edgerelay).
set -e
if [ "$1" = configure ] || [ "$1" = 1 ] || [ "$1" = 2 ]; then
	if ! getent passwd edgerelay >/dev/null; then
		useradd --system --user-group --home-dir /var/lib/edgerelay --no-create-home \
			--shell /usr/sbin/nologin --comment "edgerelay relay" edgerelay
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
		# An upgrade restarts a running service on the new binary.
		if systemctl is-active --quiet edgerelay; then systemctl restart edgerelay || true; fi
	fi
fi
exit 0
