#!/usr/bin/env bash
# The test farm: N real OpenSSH hosts on this machine, for tests, the demo and benchmarks.
#
#   bash test/farm/farm.sh up [N] [--rate 1gbit]   (default 8 hosts; FARM_RATE also works)
#   bash test/farm/farm.sh down | status
#
# Host hNN lives in network namespace murder-hNN, joined by a veth pair to the bridge murderbr0;
# the controller is 10.213.0.1/16 on the bridge, hNN is 10.213.1.NN (NN = 1..250). Each host runs
# sshd as PID 1 of its own PID namespace (a test that kills processes on one host cannot touch
# another), with private /tmp, /srv, /var/www and /home/deploy bind-mounted in its own mount
# namespace from $STATE/hNN. Every link is capped with tbf in both directions (the host-side veth
# shapes its upload, the bridge-side veth its download) and the controller's sends are capped on
# the bridge itself. Login is key-only for user deploy (passwordless sudo).
# Writes roles/farm.yaml (roles: app on all, web on the first half, db on the last host) and
# .farm/ssh_config. Only loopback and these namespaces are ever contacted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${FARM_STATE:-/var/lib/murder-farm}
KEYS="$ROOT/.farm"
BRIDGE=murderbr0
PREFIX=10.213
USER_NAME=deploy

die() { echo "farm: $*" >&2; exit 1; }

rate_bytes_per_second() {
  local rate=$1 number unit
  number=${rate%%[a-zA-Z]*}
  unit=${rate#"$number"}
  case "${unit,,}" in
    gbit) echo $((number * 125000000)) ;;
    mbit) echo $((number * 125000)) ;;
    kbit) echo $((number * 125)) ;;
    *) die "rate \"$rate\" is not understood; write e.g. 1gbit, 100mbit or 25mbit" ;;
  esac
}

# A deep queue: a shallow tbf drops packets under a swarm. Burst covers GSO super-packets.
shape() {
  local netns=$1 dev=$2 rate=$3 bytes burst
  bytes=$(rate_bytes_per_second "$rate")
  burst=$((bytes / 50 > 262144 ? bytes / 50 : 262144))
  ${netns:+ip netns exec "$netns"} tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 400ms
}

install_packages() {
  local missing=()
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v sudo >/dev/null || missing+=(sudo)
  command -v tc >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "farm: installing ${missing[*]} with apt" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

prepare_user_and_keys() {
  id "$USER_NAME" >/dev/null 2>&1 || useradd --no-create-home --home-dir "/home/$USER_NAME" --shell /bin/bash "$USER_NAME"
  # With UsePAM no, a locked ("!") account is refused even for key logins.
  usermod -p '*' "$USER_NAME"
  mkdir -p "/home/$USER_NAME" /var/www /srv /run/sshd
  echo "$USER_NAME ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/murder-farm
  chmod 440 /etc/sudoers.d/murder-farm
  mkdir -p "$KEYS" "$STATE"
  [ -f "$KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C murder-farm -f "$KEYS/id_ed25519"
  [ -f "$STATE/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$STATE/ssh_host_ed25519_key"
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
MaxSessions 200
MaxStartups 500
LoginGraceTime 30
Subsystem sftp internal-sftp
CONF
}

host_name() { printf 'h%02d' "$1"; }

start_host() {
  local index=$1 rate=$2 name netns dir
  name=$(host_name "$index")
  netns="murder-$name"
  dir="$STATE/$name"
  mkdir -p "$dir/tmp" "$dir/srv" "$dir/www" "$dir/home/.ssh"
  chmod 1777 "$dir/tmp"
  cp "$KEYS/id_ed25519.pub" "$dir/home/.ssh/authorized_keys"
  chown -R "$USER_NAME:$USER_NAME" "$dir/srv" "$dir/www" "$dir/home"

  ip netns add "$netns"
  ip link add "mv-$name" type veth peer name "mvp-$name"
  ip link set "mvp-$name" netns "$netns"
  ip link set "mv-$name" master "$BRIDGE" up
  ip -n "$netns" link set "mvp-$name" name eth0
  ip -n "$netns" addr add "$PREFIX.1.$index/16" dev eth0
  ip -n "$netns" link set eth0 up
  ip -n "$netns" link set lo up
  shape "$netns" eth0 "$rate"
  shape "" "mv-$name" "$rate"

  # sshd becomes PID 1 of a new PID namespace, with its own mounts.
  ip netns exec "$netns" unshare --mount --pid --uts --fork --mount-proc --propagation private \
    sh -c "hostname $name && mount --bind '$dir/tmp' /tmp && mount --bind '$dir/srv' /srv && mount --bind '$dir/www' /var/www &&
           mount --bind '$dir/home' /home/$USER_NAME && exec /usr/sbin/sshd -D -e -f '$STATE/sshd_config'" \
    >"$dir/sshd.log" 2>&1 &
}

wait_for_sshd() {
  local name=$1 address=$2 deadline=$((SECONDS + 20))
  until timeout 1 bash -c "exec 3<>/dev/tcp/$address/22" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "$name ($address) did not accept SSH within 20 s; see $STATE/$name/sshd.log"
    sleep 0.1
  done
}

write_config() {
  local count=$1 rate=$2 name half=$(( $1 / 2 > 0 ? $1 / 2 : 1 ))
  mkdir -p "$ROOT/roles"
  {
    echo "# Host names of the farm for ssh: generated by test/farm/farm.sh. Do not edit."
    for ((i = 1; i <= count; i++)); do
      name=$(host_name "$i")
      printf 'Host %s\n  HostName %s.1.%d\n  User %s\n  Port 22\n  IdentityFile %s/id_ed25519\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n\n' \
        "$name" "$PREFIX" "$i" "$USER_NAME" "$KEYS"
    done
  } > "$KEYS/ssh_config"
  {
    echo "# Generated by test/farm/farm.sh: $count hosts at $rate. Do not edit."
    echo "ssh_config: .farm/ssh_config   # relative to the repo root"
    echo "servers:"
    for ((i = 1; i <= count; i++)); do
      local roles=app
      [ "$i" -le "$half" ] && roles="web, app"
      [ "$i" -eq "$count" ] && roles="$roles, db"
      printf '  - host: %s\n    roles: [%s]\n' "$(host_name "$i")" "$roles"
    done
  } > "$ROOT/roles/farm.yaml"
}

up() {
  local count=8 rate=${FARM_RATE:-1gbit}
  while [ $# -gt 0 ]; do
    case "$1" in
      --rate) rate=${2:?--rate needs a value like 100mbit}; shift 2 ;;
      --rate=*) rate=${1#--rate=}; shift ;;
      *[!0-9]*) die "unknown argument \"$1\"; usage: farm.sh up [N] [--rate 1gbit]" ;;
      *) count=$1; shift ;;
    esac
  done
  [ "$count" -ge 1 ] && [ "$count" -le 250 ] || die "host count $count is out of range 1..250"
  rate_bytes_per_second "$rate" >/dev/null
  [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
  down >/dev/null
  install_packages
  prepare_user_and_keys

  ip link add "$BRIDGE" type bridge
  ip addr add "$PREFIX.0.1/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  shape "" "$BRIDGE" "$rate"
  for ((i = 1; i <= count; i++)); do start_host "$i" "$rate"; done
  for ((i = 1; i <= count; i++)); do wait_for_sshd "$(host_name "$i")" "$PREFIX.1.$i"; done
  write_config "$count" "$rate"
  echo "farm: $count hosts up at $rate (h01..$(host_name "$count"), $PREFIX.1.1-$count); ssh -F .farm/ssh_config h01"
}

down() {
  local netns
  for netns in $(ip netns list 2>/dev/null | awk '/^murder-h[0-9]+/ {print $1}'); do
    ip netns pids "$netns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$netns" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^mv-h[0-9]+/ {sub(/@.*/, "", $2); print $2}'); do
    ip link del "$link" 2>/dev/null || true
  done
  if [ -d "$STATE" ]; then
    find "$STATE" -mindepth 1 -maxdepth 1 -name 'h[0-9]*' -exec rm -rf {} + 2>/dev/null || true
  fi
  rm -f "$ROOT/roles/farm.yaml" "$KEYS/ssh_config"
  echo "farm: down"
}

status() {
  local count
  count=$(ip netns list 2>/dev/null | grep -c '^murder-h' || true)
  echo "farm: $count host(s) up"
  [ -f "$ROOT/roles/farm.yaml" ] && head -1 "$ROOT/roles/farm.yaml" || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) die "usage: farm.sh up [N] [--rate 1gbit] | down | status" ;;
esac
