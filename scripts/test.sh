#!/usr/bin/env bash
# The project's one test command: gofmt and go vet, then go test with the race
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

. scripts/redis.sh
redis_install || { echo "test.sh: FAILED: no redis-server" >&2; exit 1; }

redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/aimabot-test-redis.XXXXXX")
redis_pid=""
cleanup() {
	redis_stop "$redis_pid" "${redis_started_pid:-}"
	rm -rf "$redis_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

redis_started_pid=""
if ! redis_start "$redis_dir"; then
	echo "test.sh: FAILED: no redis-server for the tests" >&2
	exit 1
fi
redis_pid=$redis_started_pid
redis_port=$redis_started_port
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

echo "+ gofmt -l ."
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "test.sh: FAILED: not gofmt-formatted (run gofmt -w on them):" >&2
	printf '    %s\n' $unformatted >&2
	exit 1
fi
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
