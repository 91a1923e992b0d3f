#!/usr/bin/env bash
# Makes sure the services the tests talk to are up on loopback: PostgreSQL and Redis (started if stopped),
# and the Debian packages the suites use (installed if missing). Idempotent; run by `npm test` and .ci/run.
# Outside CI a service it cannot bring up is only a warning: its suites then skip with a notice. Under CI=true
# it is an error (and those suites would fail anyway).
set -uo pipefail

trouble() {
	echo "services: $*" >&2
	[ "${CI:-}" = true ] && exit 1
	echo "services: its suites will be skipped (they fail under CI=true)" >&2
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
	echo "starting PostgreSQL"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql 2>/dev/null | head -n1)" main start 2>/dev/null
	for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break; sleep 1; done
	pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || trouble "PostgreSQL is not running on 127.0.0.1:5432 and could not be started"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	echo "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log 2>/dev/null
	for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
	redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || trouble "Redis is not running on 127.0.0.1:6379 and could not be started"
fi

missing=()
command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
[ -x /usr/sbin/postfix ] || missing+=(postfix)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing ${missing[*]}"
	if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
		# Dovecot and Postfix are started by the tests themselves with a throwaway config; the packaged services stay off.
		(service dovecot stop || pkill -x dovecot || true) >/dev/null 2>&1
		(postfix stop || true) >/dev/null 2>&1
	else
		trouble "could not install ${missing[*]} (apt-get needs root)"
	fi
fi
exit 0
