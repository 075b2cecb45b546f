#!/bin/sh
# edgerelay postrm: on purge, remove the queue (/var/lib/edgerelay) and the
# service's user; a plain remove keeps both, and the configuration.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/edgerelay /var/lib/private/edgerelay
	if getent passwd edgerelay >/dev/null; then
		userdel edgerelay >/dev/null 2>&1 || true
	fi
	if getent group edgerelay >/dev/null; then
		groupdel edgerelay >/dev/null 2>&1 || true
	fi
	rmdir /etc/edgerelay 2>/dev/null || true
fi
exit 0
