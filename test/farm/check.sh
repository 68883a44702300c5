#!/usr/bin/env bash
# Proves what test/farm/farm.sh promises, on a farm of its own (4 hosts at 100mbit, replacing any
# farm that is up, torn down at the end): login and sudo, one PID namespace and private /tmp per
# host, orphans reaped, killing everything on one host spares the others, every link capped in
# both directions, and a teardown that leaves nothing behind. Prints each transfer's time.
#
#   bash test/farm/check.sh        (root; about a minute, most of it the timed transfers)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
FARM="bash test/farm/farm.sh"
CONFIG=.farm/ssh_config
MIB=50
failures=0

pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
on() { local host=$1; shift; ssh -F "$CONFIG" "$host" "$@"; }

# Seconds taken by one shell command, run on the controller.
seconds() {
  local start=$EPOCHREALTIME
  bash -c "$1" || echo "transfer failed: $1" >&2
  awk -v from="$start" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.2f", to - from }'
}
push_from_controller() { echo "head -c ${MIB}M /dev/zero | ssh -F $CONFIG $1 'cat >/dev/null'"; }
pull_to_controller() { echo "ssh -F $CONFIG $1 'head -c ${MIB}M /dev/zero' >/dev/null"; }
pull_to_host() { echo "ip netns exec murder-$1 ssh -F $CONFIG $2 'head -c ${MIB}M /dev/zero' >/dev/null"; }

# Several transfers at once; prints their times, space-separated.
together() {
  local dir i results=()
  dir=$(mktemp -d)
  for ((i = 1; i <= $#; i++)); do seconds "${!i}" >"$dir/$i" & done
  wait
  for ((i = 1; i <= $#; i++)); do results+=("$(cat "$dir/$i")"); done
  rm -rf "$dir"
  echo "${results[*]}"
}

# A capped transfer takes at least 0.9 and at most 1.5 times `share` × the ideal 50 MiB at 100 Mbit/s.
within() {
  local what=$1 share=$2 times=$3
  local verdict
  verdict=$(awk -v share="$share" -v list="$times" -v mib="$MIB" 'BEGIN {
    ideal = share * mib * 1048576 * 8 / 100e6; n = split(list, t, " ")
    for (i = 1; i <= n; i++) if (t[i] < 0.9 * ideal || t[i] > 1.5 * ideal) { print "no"; exit }
    print "yes" }')
  check "$what: $times s (ideal $(awk -v s="$share" -v m="$MIB" 'BEGIN { printf "%.2f", s * m * 1048576 * 8 / 100e6 }') s)" [ "$verdict" = yes ]
}

trap '$FARM down >/dev/null 2>&1' EXIT
$FARM up 4 --rate 100mbit || exit 1

check "h03 says it is h03, logged in as deploy" [ "$(on h03 'echo "$(hostname) $(id -un)"')" = "h03 deploy" ]
check "sudo -n works on h03, silently" [ "$(on h03 'sudo -n id -un' 2>&1)" = root ]
check "sshd is PID 1 on h03" [ "$(on h03 'ps -o comm= -p 1')" = sshd ]
check "/tmp is 1777 and /var/www belongs to deploy" [ "$(on h03 'stat -c "%a %U" /tmp /var/www' | tr '\n' ' ')" = "1777 root 755 deploy " ]
check "hosts resolve each other by name" [ "$(on h03 'getent hosts h04')" = "10.213.1.4      h04" ]

marker="farm-check-$$"
on h03 "echo x > /tmp/$marker; setsid sleep 4242 </dev/null >/dev/null 2>&1 & echo \$! > /tmp/$marker.pid"
daemon=$(on h03 "cat /tmp/$marker.pid")
check "h03's /tmp is not h04's" on h04 "[ ! -e /tmp/$marker ]"
check "h03's /tmp is not the controller's" [ ! -e "/tmp/$marker" ]
check "h04 cannot see h03's daemon" on h04 "! pgrep -x sleep"
on h04 'sudo kill -9 -1' 2>/dev/null
check "killing everything on h04 spares h03's daemon" on h03 "kill -0 $daemon"
check "h04 answers again after that" [ "$(on h04 hostname)" = h04 ]
on h03 "kill $daemon; sleep 0.3"
check "a dead orphan is reaped by sshd (kill -0 fails, no zombie)" on h03 "! kill -0 $daemon 2>/dev/null && ! ps -eo stat= | grep -q '^Z'"

echo "timed transfers of $MIB MiB over ssh, every link at 100mbit:"
within "controller -> h01" 1 "$(seconds "$(push_from_controller h01)")"
within "h01 -> controller" 1 "$(seconds "$(pull_to_controller h01)")"
within "h02 -> h01" 1 "$(seconds "$(pull_to_host h01 h02)")"
within "controller -> h01 and h02 at once (controller upload shared)" 2 \
  "$(together "$(push_from_controller h01)" "$(push_from_controller h02)")"
within "h01 and h02 -> controller at once (controller download shared)" 2 \
  "$(together "$(pull_to_controller h01)" "$(pull_to_controller h02)")"
within "h02 -> h01 and h03 at once (h02 upload shared)" 2 "$(together "$(pull_to_host h01 h02)" "$(pull_to_host h03 h02)")"
within "h02 and h03 -> h01 at once (h01 download shared)" 2 "$(together "$(pull_to_host h01 h02)" "$(pull_to_host h01 h03)")"
within "controller -> h01 while h02 -> h03 (independent links)" 1 \
  "$(together "$(push_from_controller h01)" "$(pull_to_host h03 h02)")"

$FARM down >/dev/null
check "down leaves no namespace" [ -z "$(ip netns list | grep murder-)" ]
check "down leaves no link" [ -z "$(ip -o link show | grep -E 'murder|mv-')" ]
check "down leaves no farm mount" [ -z "$(grep murder-farm /proc/self/mountinfo)" ]
check "down leaves no host directory" [ -z "$(find "${FARM_STATE:-/var/lib/murder-farm}" -mindepth 1 -maxdepth 1 -name 'h[0-9]*')" ]
check "down twice is fine" $FARM down

[ $failures -eq 0 ] && echo "farm check: all passed" || echo "farm check: $failures failed"
[ $failures -eq 0 ]
