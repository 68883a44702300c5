#!/usr/bin/env bash
# The test farm: N real OpenSSH hosts on this machine, for end-to-end tests, the demo and benchmarks.
#
#   bash test/farm/farm.sh up [N] [--rate 1gbit]   N hosts (default 8, at most 250); FARM_RATE works too
#   bash test/farm/farm.sh down                    idempotent; removes everything up created
#   bash test/farm/farm.sh status                  exit 0 only when every host answers SSH
#   bash test/farm/farm.sh rate HOST|all RATE [both|up|down [QUEUE_BYTES]]  re-cap one host's link (both ways, or only what it sends or receives), or every link; the queue holds 400 ms at the rate unless QUEUE_BYTES is given
#   bash test/farm/farm.sh link HOST down|up        cut a host off the bridge, or plug it back (faults)
#   bash test/farm/farm.sh window HOST BYTES|default  stop a host's TCP receive buffers growing past BYTES
#                                                   (tcp_rmem), which bounds what a sender keeps in flight
#
# Addresses (10.213.0.0/16, used for nothing else; up refuses to start if the machine routes it):
#   controller  10.213.0.1   on veth murder0 (root namespace), whose peer mv-ctl is a port of the
#                            bridge murderbr0; the bridge itself has no address
#   host hN     10.213.1.N   eth0 in network namespace murder-hNN, whose peer mv-hNN is a bridge port
# Names are h01, h02, ... (h100 and up past 99); each host's /etc/hosts knows all the others.
#
# Shaping: every link, the controller's included, is a veth pair with a tbf qdisc on the egress of
# both ends, so each direction is capped at the rate on its own: the end inside the host (or the
# controller's murder0) caps what it sends, the bridge-side end (mv-hNN, mv-ctl) what it receives.
# Traffic between two hosts passes the sender's upload cap and the receiver's download cap; all
# hosts pulling from the controller share its one upload cap. The queues are deep (latency 400ms):
# a shallow tbf drops packets under a BitTorrent swarm.
#
# Each host: sshd is PID 1 of its own PID namespace (killing processes on one host cannot touch
# another or the controller; sshd reaps orphaned daemons), with its own hostname and a mount
# namespace where /tmp (1777), /var/tmp, /srv, /var/www, the deploy user's home and /etc/hosts are
# bind mounts of $FARM_STATE/hNN/* (default /var/lib/murder-farm) and /dev/shm a 64 MiB tmpfs;
# everything else is shared with the machine. Login is key-only as `deploy` (created if missing;
# passwordless sudo) with the key .farm/id_ed25519; that key and the one host key shared by all
# hosts are made once and kept across down/up.
#
# Writes roles/farm.yaml (all hosts `app`, the first half also `web`, the last host also `db`) and
# .farm/ssh_config. Needs root; installs openssh-server and sudo with apt when they are missing.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/sbin:/sbin:$PATH"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF="$ROOT/test/farm/farm.sh"
STATE=${FARM_STATE:-/var/lib/murder-farm}
KEYS="$ROOT/.farm"
BRIDGE=murderbr0
CONTROLLER_LINK=murder0
NET=10.213
USER_NAME=deploy
MAX_HOSTS=250
BOOT_TIMEOUT_S=30

die() { echo "farm: $*" >&2; exit 1; }

elapsed() { awk -v from="$1" -v to="$EPOCHREALTIME" 'BEGIN { printf "%.1f", to - from }'; }

host_name() { printf 'h%02d' "$1"; }

check_rate() {
  [[ ${1,,} =~ ^[1-9][0-9]*(kbit|mbit|gbit)$ ]] || die "rate \"$1\" is not understood; write e.g. 1gbit, 100mbit or 500kbit"
}

# tbf on the egress of one device. Burst: 20 ms at the rate, at least 64 KiB so that GSO
# super-packets of veth pass whole, but at most 1 s at the rate (at least 3,000 bytes): below
# 512 kbit/s a 64 KiB super-packet waits for its tokens and then leaves at once (at 24 kbit/s,
# 64 KiB every 21 s), so there tbf cuts it into segments instead. Queue: 400 ms at the rate, deep
# enough for a swarm of TCP flows, or QUEUE bytes when given.
shape() {
  local dev=$1 rate=${2,,} queue=${3:-} number bytes_per_s burst
  number=${rate%%[a-z]*}
  case "$rate" in
    *gbit) bytes_per_s=$((number * 125000000)) ;;
    *mbit) bytes_per_s=$((number * 125000)) ;;
    *kbit) bytes_per_s=$((number * 125)) ;;
  esac
  burst=$((bytes_per_s / 50))
  ((burst >= 65536)) || burst=65536
  ((burst <= bytes_per_s)) || burst=$bytes_per_s
  ((burst >= 3000)) || burst=3000
  local depth="latency 400ms"
  [ -z "$queue" ] || depth="limit $queue"
  echo "qdisc replace dev $dev root tbf rate $rate burst $burst $depth"
}

install_missing_packages() {
  local missing=()
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  command -v sudo >/dev/null || missing+=(sudo)
  command -v ip >/dev/null && command -v tc >/dev/null || missing+=(iproute2)
  [ ${#missing[@]} -eq 0 ] && return
  echo "farm: installing ${missing[*]} with apt-get" >&2
  # Without a policy-rc.d, installing openssh-server starts the machine's own sshd on port 22.
  local policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy && made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    [ -z "$made_policy" ] || rm -f $policy
    die "apt-get install ${missing[*]} failed; install them by hand and run farm.sh up again"
  }
  [ -z "$made_policy" ] || rm -f $policy
}

check_addresses_free() {
  local clash
  clash=$({
    ip -o -4 addr show to "$NET.0.0/16"
    ip -4 route show root "$NET.0.0/16"
    ip -4 route show match "$NET.0.0/16" | grep -v '^default' || true
  } 2>/dev/null | head -n 1)
  [ -z "$clash" ] || die "the machine already uses $NET.0.0/16 ($clash); the farm needs that range to itself"
}

# Each host mounts its own directories over these paths, so its sshd could not read a state dir there.
check_state_dir() {
  local path home
  home=$(user_home)
  for path in /tmp /var/tmp /srv /var/www ${home:+"$home"}; do
    case "$(realpath -m "$STATE")/" in
      "$path"/*) die "FARM_STATE=$STATE is under $path, which every host replaces with its own; pick e.g. /var/lib/murder-farm" ;;
    esac
  done
}

# Empty when the user does not exist yet (a fresh machine: prepare_user_and_keys creates it).
user_home() { getent passwd "$USER_NAME" | cut -d: -f6 || true; }

prepare_user_and_keys() {
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    local group=(--user-group)
    getent group "$USER_NAME" >/dev/null && group=(--gid "$USER_NAME")
    useradd --no-create-home --home-dir "/home/$USER_NAME" --shell /bin/bash "${group[@]}" "$USER_NAME"
  fi
  # With UsePAM no, a locked account ("!" in the password field) is refused even for key logins.
  usermod -p '*' "$USER_NAME"
  local home
  home=$(user_home)
  [ -n "$home" ] && [ "$home" != / ] || die "user $USER_NAME has home \"$home\"; give it its own, e.g. usermod -d /home/$USER_NAME $USER_NAME"
  mkdir -p "$home" /srv /var/www /var/tmp /run/sshd "$KEYS" "$STATE"
  echo "$USER_NAME ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/murder-farm
  chmod 440 /etc/sudoers.d/murder-farm
  [ -f "$KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C murder-farm -f "$KEYS/id_ed25519"
  [ -f "$STATE/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C murder-farm -f "$STATE/ssh_host_ed25519_key"
  cat > "$STATE/sshd_config" <<CONF
Port 22
ListenAddress 0.0.0.0
HostKey $STATE/ssh_host_ed25519_key
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxSessions 200
MaxStartups 500
LoginGraceTime 30
Subsystem sftp internal-sftp
CONF
}

# Per-host directories and files, with builtins and one call per tool (fast for 100+ hosts).
prepare_host_dirs() {
  local count=$1 i name dirs=() homes=() owned=() pubkey
  pubkey=$(cat "$KEYS/id_ed25519.pub")
  for ((i = 1; i <= count; i++)); do
    name=$STATE/$(host_name "$i")
    dirs+=("$name"/{tmp,vartmp,srv,www,home/.ssh})
    homes+=("$name/tmp" "$name/vartmp")
    owned+=("$name"/{srv,www,home})
  done
  mkdir -p "${dirs[@]}"
  chmod 1777 "${homes[@]}"
  local farm_hosts="$NET.0.1 controller"$'\n'
  for ((i = 1; i <= count; i++)); do farm_hosts+="$NET.1.$i $(host_name "$i")"$'\n'; done
  for ((i = 1; i <= count; i++)); do
    name=$(host_name "$i")
    printf '%s\n' "$pubkey" > "$STATE/$name/home/.ssh/authorized_keys"
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n%s' "$farm_hosts" > "$STATE/$name/hosts"
  done
  chown -R "$USER_NAME:" "${owned[@]}"
}

create_network() {
  local count=$1 rate=$2 i name
  {
    echo "link add $BRIDGE type bridge"
    echo "link set $BRIDGE addrgenmode none up"
    echo "link add $CONTROLLER_LINK type veth peer name mv-ctl"
    echo "link set mv-ctl addrgenmode none master $BRIDGE up"
    echo "link set $CONTROLLER_LINK addrgenmode none up"
    echo "addr add $NET.0.1/16 dev $CONTROLLER_LINK"
    for ((i = 1; i <= count; i++)); do
      name=$(host_name "$i")
      echo "netns add murder-$name"
      echo "link add mv-$name type veth peer name eth0 netns murder-$name"
      echo "link set mv-$name addrgenmode none master $BRIDGE up"
    done
  } | ip -batch -
  {
    shape "$CONTROLLER_LINK" "$rate"
    shape mv-ctl "$rate"
    for ((i = 1; i <= count; i++)); do shape "mv-$(host_name "$i")" "$rate"; done
  } | tc -batch -
}

# PID 1 of a host's PID namespace until it execs sshd: network inside the namespace, then mounts.
boot() {
  local name=$1 index=$2 rate=$3 dir="$STATE/$1" home
  home=$(user_home)
  hostname "$name"
  ip -batch - <<IP
link set lo up
link set eth0 addrgenmode none up
addr add $NET.1.$index/16 dev eth0
IP
  shape eth0 "$rate" | tc -batch -
  mount --bind "$dir/tmp" /tmp
  mount --bind "$dir/vartmp" /var/tmp
  mount --bind "$dir/srv" /srv
  mount --bind "$dir/www" /var/www
  mount --bind "$dir/home" "$home"
  mount --bind "$dir/hosts" /etc/hosts
  mount -t tmpfs -o nosuid,nodev,mode=1777,size=64m tmpfs /dev/shm
  exec /usr/sbin/sshd -D -e -f "$STATE/sshd_config"
}

start_hosts() {
  local count=$1 rate=$2 i name
  PIDS=()
  for ((i = 1; i <= count; i++)); do
    name=$(host_name "$i")
    # setsid: a Ctrl-C meant for the caller's process group does not reach the farm.
    setsid ip netns exec "murder-$name" \
      unshare --mount --pid --uts --fork --mount-proc --propagation private \
      bash "$SELF" _boot "$name" "$i" "$rate" </dev/null >"$STATE/$name/sshd.log" 2>&1 9>&- &
    PIDS[i]=$!
  done
}

# Answers with an SSH banner, i.e. sshd itself is serving, not just the kernel accepting.
answers_ssh() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/22" && read -r -t 2 banner <&3 && [[ $banner == SSH-2.0-* ]]' "$1" 2>/dev/null
}

# $1 is any process in the host's network namespace; its /proc/PID/net/tcp lists that namespace's sockets.
is_listening_on_22() { grep -q '^ *[0-9]*: 00000000:0016 00000000:0000 0A ' "/proc/$1/net/tcp" 2>/dev/null; }

wait_for_hosts() {
  local count=$1 deadline=$((SECONDS + BOOT_TIMEOUT_S)) i name pending=()
  for ((i = 1; i <= count; i++)); do pending+=("$i"); done
  while [ ${#pending[@]} -gt 0 ]; do
    local still=()
    for i in "${pending[@]}"; do
      name=$(host_name "$i")
      # Connect only once sshd listens: before the host's address is up, a connect hangs on ARP.
      if is_listening_on_22 "${PIDS[i]}" && answers_ssh "$NET.1.$i"; then continue; fi
      if ! is_running "${PIDS[i]}"; then
        die "$name ($NET.1.$i) failed to start sshd: $(tail -n 3 "$STATE/$name/sshd.log" | tr '\n' ' ')"
      fi
      still+=("$i")
    done
    pending=("${still[@]+"${still[@]}"}")
    [ ${#pending[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      local others=()
      for i in "${pending[@]:1}"; do others+=("$(host_name "$i")"); done
      name=$(host_name "${pending[0]}")
      die "$name ($NET.1.${pending[0]}) did not answer SSH within ${BOOT_TIMEOUT_S} s${others[0]:+ (nor did ${others[*]})}; its log: $(tail -n 3 "$STATE/$name/sshd.log" | tr '\n' ' ')"
    fi
    sleep 0.1
  done
}

write_config() {
  local count=$1 rate=$2 i name roles half=$(($1 / 2 > 0 ? $1 / 2 : 1))
  mkdir -p "$ROOT/roles"
  {
    echo "# Generated by test/farm/farm.sh: $count hosts at $rate. Do not edit."
    for ((i = 1; i <= count; i++)); do
      printf 'Host %s\n  HostName %s\n  User %s\n  Port 22\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n\n' \
        "$(host_name "$i")" "$NET.1.$i" "$USER_NAME" "$KEYS/id_ed25519"
    done
  } > "$KEYS/ssh_config"
  {
    echo "# Generated by test/farm/farm.sh: $count hosts at $rate. Do not edit."
    echo "ssh_config: .farm/ssh_config   # relative to the repo root"
    echo "servers:"
    for ((i = 1; i <= count; i++)); do
      roles=app
      [ "$i" -le "$half" ] && roles="web, app"
      [ "$i" -eq "$count" ] && roles="$roles, db"
      printf '  - host: %s\n    roles: [%s]\n' "$(host_name "$i")" "$roles"
    done
  } > "$ROOT/roles/farm.yaml"
}

up() {
  local count=8 rate=${FARM_RATE:-1gbit} started=$EPOCHREALTIME
  while [ $# -gt 0 ]; do
    case "$1" in
      --rate) [ $# -ge 2 ] || die "--rate needs a value like 100mbit"; rate=$2; shift 2 ;;
      --rate=*) rate=${1#--rate=}; shift ;;
      '' | *[!0-9]*) die "unknown argument \"$1\"; usage: farm.sh up [N] [--rate 1gbit]" ;;
      *) count=$((10#$1)); shift ;;
    esac
  done
  [ "$count" -ge 1 ] && [ "$count" -le $MAX_HOSTS ] || die "host count $count is out of range 1..$MAX_HOSTS"
  check_rate "$rate"
  check_state_dir
  teardown
  install_missing_packages
  check_addresses_free
  prepare_user_and_keys
  prepare_host_dirs "$count"
  trap 'teardown >/dev/null 2>&1' EXIT
  size_neighbour_table "$count"
  create_network "$count" "$rate"
  start_hosts "$count" "$rate"
  wait_for_hosts "$count"
  write_config "$count" "$rate"
  echo "$ROOT" > "$STATE/repo"
  trap - EXIT
  echo "farm: $count hosts up at $rate in $(elapsed "$started") s: h01..$(host_name "$count") ($NET.1.1-$count), controller $NET.0.1; try: ssh -F .farm/ssh_config h01"
}

# A zombie counts as gone: it holds nothing, and this machine's init may be slow to reap it.
is_running() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

farm_namespaces() { ip netns list 2>/dev/null | awk '$1 ~ /^murder-h[0-9]+$/ {print $1}'; }

# The kernel keeps one ARP table for every network namespace, capped at gc_thresh3 (1024 by
# default): past it a host cannot resolve a new neighbour ("neighbor table overflow" in dmesg) and
# its connections hang in SYN-SENT. A swarm of N hosts may pair every two of them (N² entries): 32
# hosts came close, 100 lost a third of their peers. Raised for the farm; down puts it back.
NEIGH_SYSCTLS=(net.ipv4.neigh.default.gc_thresh1 net.ipv4.neigh.default.gc_thresh2 net.ipv4.neigh.default.gc_thresh3)
size_neighbour_table() {
  local hosts=$1 needed
  needed=$((4 * (hosts + 1) * (hosts + 1) + 1024))
  [ -f "$STATE/neigh.saved" ] || echo $(sysctl -n "${NEIGH_SYSCTLS[@]}") > "$STATE/neigh.saved"
  [ "$(sysctl -n net.ipv4.neigh.default.gc_thresh3)" -ge "$needed" ] && return
  sysctl -q -w "${NEIGH_SYSCTLS[0]}=$((needed / 4))" "${NEIGH_SYSCTLS[1]}=$((needed / 2))" "${NEIGH_SYSCTLS[2]}=$needed"
}

restore_neighbour_table() {
  [ -f "$STATE/neigh.saved" ] || return 0
  local saved i=0 value
  read -r -a saved < "$STATE/neigh.saved" || true
  for value in "${saved[@]}"; do sysctl -q -w "${NEIGH_SYSCTLS[$i]}=$value" || true; i=$((i + 1)); done
  rm -f "$STATE/neigh.saved"
}

teardown() {
  local ns pids=() pid tries link
  # Killing a host's sshd (its PID namespace's init) kills every process of that namespace, even
  # one that moved to another network namespace; its mounts go with the mount namespace.
  for ns in $(farm_namespaces); do mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null || true); done
  [ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null || true
  for ((tries = 0; tries < 50 && ${#pids[@]} > 0; tries++)); do
    local alive=()
    for pid in "${pids[@]}"; do ! is_running "$pid" || alive+=("$pid"); done
    pids=("${alive[@]+"${alive[@]}"}")
    [ ${#pids[@]} -eq 0 ] || sleep 0.1
  done
  for ns in $(farm_namespaces); do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "$STATE"/tcp_rmem.*.saved
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^(mv-h[0-9]+|mv-ctl)(@|$)/ {sub(/@.*/, "", $2); print $2}'); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$CONTROLLER_LINK" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  if [ -d "$STATE" ]; then find "$STATE" -mindepth 1 -maxdepth 1 -name 'h[0-9]*' -exec rm -rf {} +; fi
  # The farm may have been brought up from another checkout.
  local owner=$ROOT
  [ -f "$STATE/repo" ] && owner=$(cat "$STATE/repo")
  rm -f "$ROOT/roles/farm.yaml" "$KEYS/ssh_config" "$owner/roles/farm.yaml" "$owner/.farm/ssh_config" "$STATE/repo"
}

down() {
  teardown
  restore_neighbour_table
  local left
  left=$(farm_namespaces | tr '\n' ' ')
  [ -z "$left" ] || die "could not delete network namespaces $left"
  ! ip link show "$BRIDGE" >/dev/null 2>&1 || die "could not delete bridge $BRIDGE"
  echo "farm: down"
}

status() {
  local hosts=() i name failed=() header=''
  mapfile -t hosts < <(farm_namespaces | sed 's/^murder-//' | sort)
  if [ ${#hosts[@]} -eq 0 ]; then echo "farm: down"; return 1; fi
  [ -f "$ROOT/roles/farm.yaml" ] && header=$(head -n 1 "$ROOT/roles/farm.yaml")
  for name in "${hosts[@]}"; do
    i=$((10#${name#h}))
    answers_ssh "$NET.1.$i" || failed+=("$name")
  done
  if [ ${#failed[@]} -eq 0 ] && [ -n "$header" ]; then
    header=${header#"# Generated by test/farm/farm.sh: "}
    echo "farm: up, ${#hosts[@]} hosts answer SSH (roles/farm.yaml: ${header%. Do not edit.})"
  else
    local note=''
    [ -n "$header" ] || note=', roles/farm.yaml missing'
    echo "farm: broken: ${#hosts[@]} host namespaces, not answering SSH: ${failed[*]:-none}$note; run farm.sh up again" >&2
    return 1
  fi
}

# Fault injection for tests and benchmarks: change a running host's link.
require_host() {
  [[ $1 =~ ^h[0-9]+$ ]] && ip netns list 2>/dev/null | grep -qx "murder-$1\( .*\)\?" || die "no farm host named \"$1\"; see roles/farm.yaml"
}

set_rate() {
  local host=$1 rate=$2 direction=${3:-both} queue=${4:-} name
  check_rate "$rate"
  [[ $direction =~ ^(both|up|down)$ ]] || die "direction \"$direction\" is not understood; write both, up (what the host sends) or down"
  [[ -z $queue || $queue =~ ^[1-9][0-9]*$ ]] || die "queue \"$queue\" is not understood; write a size in bytes, e.g. 1048576"
  if [ "$host" = all ]; then
    { shape "$CONTROLLER_LINK" "$rate" "$queue"; shape mv-ctl "$rate" "$queue"; } | tc -batch -
    for name in $(farm_namespaces); do set_rate "${name#murder-}" "$rate" both "$queue"; done
    return
  fi
  require_host "$host"
  [ "$direction" = up ] || shape "mv-$host" "$rate" "$queue" | tc -batch -
  [ "$direction" = down ] || shape eth0 "$rate" "$queue" | ip netns exec "murder-$host" tc -batch -
}

set_link() {
  local host=$1 state=$2
  require_host "$host"
  [[ $state =~ ^(up|down)$ ]] || die "link state \"$state\" is not understood; write up or down"
  ip link set "mv-$host" "$state"
}

# A receiver's window bounds what a sender keeps in flight, and so how full a deep queue gets and how
# long a round trip lasts. tcp_rmem is per network namespace; its maximum bounds how far the kernel
# grows a socket's receive buffer, open sockets included. A socket keeps the buffer it starts with:
# sshd's connections start from its listener's 128 KiB (a window of ~80 KiB), and grow to MiBs
# without the cap.
set_window() {
  local host=$1 bytes=$2 saved
  require_host "$host"
  saved="$STATE/tcp_rmem.$host.saved"
  if [ "$bytes" = default ]; then
    [ -f "$saved" ] || return 0
    ip netns exec "murder-$host" sysctl -q -w net.ipv4.tcp_rmem="$(cat "$saved")"
    rm -f "$saved"
    return
  fi
  [[ $bytes =~ ^[1-9][0-9]*$ ]] && [ "$bytes" -ge 8192 ] || die "window \"$bytes\" is not understood; write a size in bytes of at least 8192, or default"
  [ -f "$saved" ] || ip netns exec "murder-$host" cat /proc/sys/net/ipv4/tcp_rmem | tr '\t' ' ' > "$saved"
  ip netns exec "murder-$host" sysctl -q -w net.ipv4.tcp_rmem="4096 $((bytes < 131072 ? bytes : 131072)) $bytes"
}

# One farm command at a time; the lock's descriptor is closed for the hosts' processes.
locked() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces)"
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another farm.sh has held $STATE/.lock for 5 minutes"
  "$@"
}

case "${1:-}" in
  up) shift; locked up "$@" ;;
  down) locked down ;;
  status) status ;;
  rate) [ $# -ge 3 ] && [ $# -le 5 ] || die "usage: farm.sh rate HOST|all RATE [both|up|down [QUEUE_BYTES]]"; set_rate "$2" "$3" "${4:-both}" "${5:-}" ;;
  link) [ $# -eq 3 ] || die "usage: farm.sh link HOST down|up"; set_link "$2" "$3" ;;
  window) [ $# -eq 3 ] || die "usage: farm.sh window HOST BYTES|default"; set_window "$2" "$3" ;;
  _boot) shift; boot "$@" ;;
  *) die "usage: farm.sh up [N] [--rate 1gbit] | down | status | rate HOST|all RATE [both|up|down [QUEUE_BYTES]] | link HOST down|up | window HOST BYTES|default" ;;
esac
