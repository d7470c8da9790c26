#!/bin/bash
# Container health check: GET /healthz on the daemon's metrics endpoint (127.0.0.1:PORT, default 9464) must answer 200.
# Plain bash (/dev/tcp), so the run image needs no HTTP client. Exit 0 healthy, 1 not.
port="${1:-9464}"
exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo "unhealthy: nothing listens on 127.0.0.1:$port (is metrics.listen set?)" >&2; exit 1; }
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS= read -r -t 5 status <&3 || { echo "unhealthy: no answer from 127.0.0.1:$port within 5 s" >&2; exit 1; }
exec 3<&-
[[ "$status" =~ ^HTTP/1\.[01]\ 200 ]] && exit 0
echo "unhealthy: GET /healthz answered '${status%$'\r'}'" >&2
exit 1
