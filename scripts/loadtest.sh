#!/usr/bin/env bash
# Reproduces the README's load table: aimabot-load on the embedded
# store, on one Redis, with two replicas on one Redis, and with two replicas
# on a three-master Redis Cluster; then the bot's memory with 10,000 and
# 100,000 finished conversations stored.
#
#   scripts/loadtest.sh                      # 200 users, 30 s per run
#   USERS=50 DURATION=10s scripts/loadtest.sh
#   ROWS="redis redis-2" scripts/loadtest.sh # some rows only
#
# Rows: embedded, redis, redis-nostaff (the conversations without a
# takeover), redis-2, cluster-2, redis-10k, redis-100k, embedded-10k,
# embedded-100k. It starts its own redis-server processes on
# free loopback ports (installing Debian's redis-server when missing), builds
# aimabot and aimabot-load, prints each run's report on stderr as it goes and the Markdown
# table on stdout. It fails when a run had errors, lost or duplicated
# replies, after printing the table.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/redis.sh

users=${USERS:-200}
duration=${DURATION:-30s}
memory_duration=${MEMORY_DURATION:-10s}
rows=${ROWS:-embedded redis redis-nostaff redis-2 cluster-2 redis-10k redis-100k embedded-10k embedded-100k}

redis_install
work=$(mktemp -d "${TMPDIR:-/tmp}/aimabot-loadtest.XXXXXX")
pids=()
cleanup() {
	redis_stop ${pids[@]+"${pids[@]}"} "${redis_started_pid:-}"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "+ go build -o $work/aimabot ./cmd/aimabot && go build -o $work/aimabot-load ./cmd/aimabot-load" >&2
go build -o "$work/aimabot" ./cmd/aimabot
go build -o "$work/aimabot-load" ./cmd/aimabot-load

needs() { [[ " $rows " == *" $1"* ]]; }

redis_url=""
if needs redis; then
	redis_start "$work/redis"
	pids+=("$redis_started_pid")
	redis_url="redis://127.0.0.1:$redis_started_port/0"
	echo "redis-server on 127.0.0.1:$redis_started_port" >&2
fi

cluster_url=""
if needs cluster; then
	nodes=()
	for i in 1 2 3; do
		redis_start "$work/cluster-$i" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
		pids+=("$redis_started_pid")
		nodes+=("127.0.0.1:$redis_started_port")
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/cluster-create.log" 2>&1 ||
		{ cat "$work/cluster-create.log" >&2; exit 1; }
	for ((i = 0; i < 100; i++)); do
		ok=true
		for n in "${nodes[@]}"; do
			if ! redis-cli -h "${n%:*}" -p "${n#*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
				ok=false
			fi
		done
		if $ok; then break; fi
		sleep 0.1
	done
	if ! $ok; then
		echo "loadtest.sh: the Redis Cluster did not come up" >&2
		exit 1
	fi
	cluster_url="redis://${nodes[0]}?addr=${nodes[1]}&addr=${nodes[2]}"
	echo "Redis Cluster of three masters: ${nodes[*]}" >&2
fi

# field prints one field of a flat JSON report.
field() {
	sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$2"
}

table="| setup | stored | updates/s | p50 ms | p95 ms | p99 ms | bot CPU µs/update | Redis round trips/update | Redis commands/update | peak RSS MB | of which anonymous MB | errors / lost / duplicated |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
failed=0
declare -A rate

# run names a row and runs aimabot-load with the arguments that follow.
run() {
	local name=$1 label=$2
	shift 2
	echo "+ aimabot-load --json --users $users $*   # $name" >&2
	local rc=0
	env -u REDIS_URL "$work/aimabot-load" --bin "$work/aimabot" --json --users "$users" "$@" >"$work/$name.json" || rc=$?
	if [ ! -s "$work/$name.json" ]; then
		echo "loadtest.sh: $name produced no report (exit $rc)" >&2
		failed=$((failed + 1))
		return
	fi
	[ "$rc" -eq 0 ] || failed=$((failed + 1))
	cat "$work/$name.json" >&2
	local f="$work/$name.json" redis_rt="–" redis_cmds="–"
	if [ "$(field store "$f")" != embedded ]; then
		redis_rt=$(printf '%.2f' "$(field redis_round_trips_per_update "$f")")
		redis_cmds=$(printf '%.1f' "$(field redis_commands_per_update "$f")")
	fi
	rate[$name]=$(field updates_per_sec "$f")
	table+="
| $label | $(field stored_conversations "$f") | $(printf '%.0f' "${rate[$name]}") | $(printf '%.1f' "$(field p50_ms "$f")") | $(printf '%.1f' "$(field p95_ms "$f")") | $(printf '%.1f' "$(field p99_ms "$f")") | $(printf '%.0f' "$(field cpu_us_per_update "$f")") | $redis_rt | $redis_cmds | $(printf '%.1f' "$(field peak_rss_mb "$f")") | $(printf '%.1f' "$(field peak_anon_mb "$f")") | $(field errors "$f") / $(field lost "$f") / $(field duplicated "$f") |"
}

for row in $rows; do
	case "$row" in
	embedded) run embedded "embedded store, 1 replica" --duration "$duration" ;;
	redis) run redis "one Redis, 1 replica" --duration "$duration" --redis-url "$redis_url" ;;
	redis-nostaff) run redis-nostaff "one Redis, 1 replica, no takeover" --duration "$duration" --redis-url "$redis_url" \
		--scripts lost_card_en,address_change_pt,stolen_card_fr ;;
	redis-2) run redis-2 "one Redis, 2 replicas" --duration "$duration" --redis-url "$redis_url" --replicas 2 ;;
	cluster-2) run cluster-2 "3-master Redis Cluster, 2 replicas" --duration "$duration" --redis-url "$cluster_url" --replicas 2 ;;
	redis-10k) run redis-10k "one Redis, 1 replica" --duration "$memory_duration" --redis-url "$redis_url" --stored 10000 ;;
	redis-100k) run redis-100k "one Redis, 1 replica" --duration "$memory_duration" --redis-url "$redis_url" --stored 100000 ;;
	embedded-10k) run embedded-10k "embedded store, 1 replica" --duration "$memory_duration" --stored 10000 ;;
	embedded-100k) run embedded-100k "embedded store, 1 replica" --duration "$memory_duration" --stored 100000 ;;
	*)
		echo "loadtest.sh: unknown row $row" >&2
		exit 2
		;;
	esac
done

echo
echo "$users simulated applicants; $(nproc) cores; $(redis-server --version | sed -n 's/.*\(v=[^ ]*\).*/redis-server \1/p'); $(go version | cut -d' ' -f3)"
echo
echo "$table"
for pair in "redis-2 redis" "cluster-2 redis"; do
	set -- $pair
	if [ -n "${rate[$1]:-}" ] && [ -n "${rate[$2]:-}" ]; then
		echo
		echo "$1 / $2 throughput: $(awk -v a="${rate[$1]}" -v b="${rate[$2]}" 'BEGIN { printf "%.2f", a / b }')"
	fi
done
if [ "$failed" -gt 0 ]; then
	echo "loadtest.sh: $failed run(s) had errors, lost or duplicated replies" >&2
	exit 1
fi
