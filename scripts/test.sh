#!/usr/bin/env bash
# The project's one test command: go vet, then go test with the race
# detector, against a throwaway Redis server started for this run only.
#
#   scripts/test.sh                    # every package
#   scripts/test.sh ./store/...        # some packages
#   scripts/test.sh -run Redis -v ./store/...
#   AIMABOT_FUZZTIME=30s scripts/test.sh ./flows   # fuzz longer
#
# Arguments that look like package patterns (./x, ../x, github.com/aimabot/...)
# replace ./...; every other argument is passed to go test.
#
# After the tests, every fuzz target of the packages runs for a short while
# (AIMABOT_FUZZTIME, default 2s each; 0 skips fuzzing), one target per go test
# invocation as Go requires, two invocations at a time. Runs with -bench flags
# skip fuzzing.
#
# Installs Debian's redis-server when it is missing. Redis listens on a free
# loopback port (never 6379), keeps nothing on disk, and is stopped on exit;
# the tests find it through AIMABOT_TEST_REDIS_URL.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

pkgs=()
flags=()
for arg in "$@"; do
	case "$arg" in
	./* | ../* | . | .. | github.com/aimabot/*) pkgs+=("$arg") ;;
	*) flags+=("$arg") ;;
	esac
done
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(./...)
fi

# --- Redis -----------------------------------------------------------------

if ! command -v redis-server >/dev/null 2>&1; then
	echo "redis-server not found: installing Debian's redis-server package"
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "test.sh: not root and no sudo: install redis-server (Debian package redis-server) and rerun" >&2
			exit 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: no apt-get here: install redis-server with your package manager and rerun" >&2
		exit 1
	fi
	${sudo[@]+"${sudo[@]}"} apt-get update -qq
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
	if ! command -v redis-server >/dev/null 2>&1; then
		echo "test.sh: redis-server is still not on PATH after installing it" >&2
		exit 1
	fi
fi

redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/aimabot-test-redis.XXXXXX")
redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
		kill -TERM "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	rm -rf "$redis_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

# start_redis starts redis-server on the port and waits for it to answer;
# it fails if the server exits (port taken) or stays silent for 10 s.
start_redis() {
	local port=$1
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$redis_dir" --daemonize no >"$redis_dir/redis.log" 2>&1 &
	redis_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$redis_pid" 2>/dev/null; then
			wait "$redis_pid" 2>/dev/null || true
			redis_pid=""
			return 1
		fi
		if redis_ping "$port"; then
			return 0
		fi
		sleep 0.1
	done
	kill -TERM "$redis_pid" 2>/dev/null || true
	wait "$redis_pid" 2>/dev/null || true
	redis_pid=""
	return 1
}

redis_port=""
port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
for ((attempt = 0; attempt < 5; attempt++)); do
	# The next port nobody listens on.
	for ((tries = 0; tries < 200; tries++)); do
		if ! port_in_use "$port"; then
			break
		fi
		port=$((port >= 59999 ? 20000 : port + 1))
	done
	if start_redis "$port"; then
		redis_port=$port
		break
	fi
	echo "test.sh: redis-server did not start on port $port, trying another" >&2
	port=$((port >= 59999 ? 20000 : port + 1))
done
if [ -z "$redis_port" ]; then
	echo "test.sh: FAILED to start redis-server on a free loopback port; its last log lines:" >&2
	tail -n 20 "$redis_dir/redis.log" >&2 || true
	exit 1
fi
export AIMABOT_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') listening on 127.0.0.1:$redis_port (AIMABOT_TEST_REDIS_URL=$AIMABOT_TEST_REDIS_URL)"

# --- Go --------------------------------------------------------------------

# The race detector needs cgo and a working C toolchain: check by building
# and running a tiny program with -race. Benchmarks run without it, since it
# slows everything several times over.
race=(-race)
bench=false
for f in ${flags[@]+"${flags[@]}"}; do
	case "$f" in -bench* | -test.bench*) race=() bench=true ;; esac
done
race_dir=$(mktemp -d "${TMPDIR:-/tmp}/aimabot-race-check.XXXXXX")
printf 'package main\n\nfunc main() {}\n' >"$race_dir/main.go"
if [ ${#race[@]} -gt 0 ] && ! (cd "$race_dir" && go build -race -o race-check main.go && ./race-check) >"$race_dir/log" 2>&1; then
	echo "test.sh: NOTE: the race detector does not work here (needs cgo and gcc); running without -race:" >&2
	sed 's/^/    /' "$race_dir/log" >&2
	race=()
fi
rm -rf "$race_dir"

echo "+ go vet ${pkgs[*]}"
go vet "${pkgs[@]}"
echo "+ go test -count=1 ${race[*]:-} -timeout 8m ${flags[*]:-} ${pkgs[*]}"
go test -count=1 ${race[@]+"${race[@]}"} -timeout 8m ${flags[@]+"${flags[@]}"} "${pkgs[@]}"

# --- Fuzzing -----------------------------------------------------------------

# Every Fuzz target of the packages, briefly: the seed corpus already ran
# above as ordinary tests; this looks a little further. Two targets run at
# a time, one fuzzing worker each. A failing input is written to
# <package>/testdata/fuzz/<Target>/ and the script fails; replay it with
# `go test ./<package> -run '<Target>/<file>'`.
fuzztime=${AIMABOT_FUZZTIME:-2s}
if [ "$bench" = true ] || [ "$fuzztime" = 0 ] || [ "$fuzztime" = 0s ]; then
	exit 0
fi
fuzz_start=$SECONDS
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(printf '%s\n' "$line" | awk '{print $2}')
		for n in ${names[@]+"${names[@]}"}; do
			targets+=("$pkg $n")
		done
		names=()
		;;
	*) names=() ;;
	esac
done < <(go test -run '^$' -list '^Fuzz' "${pkgs[@]}")
echo "+ fuzzing ${#targets[@]} targets for $fuzztime each, two at a time"
fuzz_dir="$redis_dir/fuzz"
mkdir -p "$fuzz_dir"
# fuzz_one runs target $3 of package $2, writing its output to $fuzz_dir/$1.log
# and "rc package target" to $fuzz_dir/$1.rc.
fuzz_one() {
	local rc=0
	go test -run '^$' -fuzz "^$3\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s -parallel 1 -timeout 5m "$2" \
		>"$fuzz_dir/$1.log" 2>&1 || rc=$?
	# Go counts the run of the seed corpus ("gathering baseline coverage")
	# against -fuzztime and fails with "context deadline exceeded" when it
	# does not finish in time (slow targets on a fresh clone, a busy
	# machine); that is no finding, so such a target is run once more with
	# enough time for its baseline.
	if [ "$rc" -ne 0 ] && grep -q "context deadline exceeded" "$fuzz_dir/$1.log" &&
		! grep -q "Failing input" "$fuzz_dir/$1.log"; then
		rc=0
		go test -run '^$' -fuzz "^$3\$" -fuzztime 30s -fuzzminimizetime 1s -parallel 1 -timeout 5m "$2" \
			>"$fuzz_dir/$1.log" 2>&1 || rc=$?
	fi
	echo "$rc $2 $3" >"$fuzz_dir/$1.rc"
}
i=0
batch=()
for t in ${targets[@]+"${targets[@]}"}; do
	i=$((i + 1))
	echo "+ go test -run '^\$' -fuzz '^${t#* }\$' -fuzztime $fuzztime ${t% *}"
	fuzz_one "$i" "${t% *}" "${t#* }" &
	batch+=("$!")
	if [ ${#batch[@]} -eq 2 ]; then
		wait "${batch[@]}"
		batch=()
	fi
done
if [ ${#batch[@]} -gt 0 ]; then
	wait "${batch[@]}"
fi
failed=0
for ((j = 1; j <= i; j++)); do
	read -r rc pkg name <"$fuzz_dir/$j.rc"
	if [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		echo "--- fuzz target $name in $pkg failed:" >&2
		cat "$fuzz_dir/$j.log" >&2
	fi
done
echo "fuzzing took $((SECONDS - fuzz_start)) s"
if [ "$failed" -gt 0 ]; then
	echo "test.sh: FAILED: $failed fuzz target(s); each failing input is under its package's testdata/fuzz/<Target>/" >&2
	exit 1
fi
