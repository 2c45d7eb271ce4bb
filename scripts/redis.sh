# Shell functions for starting throwaway redis-server processes on free
# loopback ports (never 6379). Sourced by test.sh and loadtest.sh.

# redis_install installs Debian's redis-server package when redis-server is
# not on PATH.
redis_install() {
	if command -v redis-server >/dev/null 2>&1; then
		return 0
	fi
	echo "redis-server not found: installing Debian's redis-server package"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "not root and no sudo: install redis-server (Debian package redis-server) and rerun" >&2
			return 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "no apt-get here: install redis-server with your package manager and rerun" >&2
		return 1
	fi
	${sudo[@]+"${sudo[@]}"} apt-get update -qq
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "redis-server is still not on PATH after installing it" >&2
		return 1
	fi
}

# port_in_use succeeds when something accepts connections on the port.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# redis_ping succeeds when the server on the port answers PONG.
redis_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]
	else
		(
			exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
			printf 'PING\r\n' >&3
			IFS= read -r -t 2 line <&3 || exit 1
			[[ "$line" == "+PONG"* ]]
		) 2>/dev/null
	fi
}

# redis_try starts redis-server on port $1 with its files in directory $2
# (and any further arguments) and waits for it to answer. It sets
# redis_started_pid; it fails if the server exits (port taken) or stays
# silent for 10 s.
redis_try() {
	local port=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$dir" --daemonize no "$@" >"$dir/redis.log" 2>&1 &
	redis_started_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$redis_started_pid" 2>/dev/null; then
			wait "$redis_started_pid" 2>/dev/null || true
			redis_started_pid=""
			return 1
		fi
		if redis_ping "$port"; then
			return 0
		fi
		sleep 0.1
	done
	kill -TERM "$redis_started_pid" 2>/dev/null || true
	wait "$redis_started_pid" 2>/dev/null || true
	redis_started_pid=""
	return 1
}

# redis_start starts redis-server on a free loopback port with its files in
# directory $1 (and any further arguments). It sets redis_started_port and
# redis_started_pid, or prints the server's last log lines and fails.
redis_start() {
	local dir=$1
	shift
	# A cluster node also listens on its port + 10000 (the cluster bus).
	local bus=0 top=59999
	if [[ " $* " == *" --cluster-enabled yes "* ]]; then
		bus=10000 top=49999
	fi
	local port=$((20000 + (RANDOM * 32768 + RANDOM) % (top - 20000))) attempt tries
	for ((attempt = 0; attempt < 5; attempt++)); do
		# The next port nobody listens on.
		for ((tries = 0; tries < 200; tries++)); do
			if ! port_in_use "$port" && { [ "$bus" -eq 0 ] || ! port_in_use $((port + bus)); }; then
				break
			fi
			port=$((port >= top ? 20000 : port + 1))
		done
		if redis_try "$port" "$dir" "$@"; then
			redis_started_port=$port
			return 0
		fi
		echo "redis-server did not start on port $port, trying another" >&2
		port=$((port >= top ? 20000 : port + 1))
	done
	echo "FAILED to start redis-server on a free loopback port; its last log lines:" >&2
	tail -n 20 "$dir/redis.log" >&2 || true
	return 1
}

# redis_stop stops the redis-server processes whose pids are given.
redis_stop() {
	local pid
	for pid in "$@"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
}
