#!/usr/bin/env bash
# The project's one test command: gofmt, go mod tidy -diff, a check that
# the aimabot binary links neither the fake Bot API nor the load test, go vet and
# staticcheck (the version go.mod's tool directive pins), then go test with
# the race detector, against a throwaway Redis server started for this run
# only, then a little fuzzing.
#
#   scripts/test.sh                    # every package
#   scripts/test.sh ./store/...        # some packages
#   scripts/test.sh -run Redis -v ./store/...
#   AIMABOT_FUZZTIME=30s scripts/test.sh ./flows   # fuzz every target 30 s
#
# Arguments that look like package patterns (./x, ../x, github.com/aimabot/...)
# replace ./...; every other argument is passed to go test.
#
# After the tests, fuzzing gets one budget for all targets together
# (AIMABOT_FUZZBUDGET, default 30s; see "Fuzzing" below).
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
echo "+ go mod tidy -diff"
if ! tidy=$(go mod tidy -diff 2>&1); then
	echo "test.sh: FAILED: go.mod or go.sum is not tidy (run go mod tidy):" >&2
	printf '%s\n' "$tidy" | sed 's/^/    /' >&2
	exit 1
fi
# The production binary links neither the fake Bot API nor the load test.
echo "+ go list -deps ./cmd/aimabot | grep -E 'fakeapi|load'"
if linked=$(go list -deps ./cmd/aimabot | grep -E 'fakeapi|load'); then
	echo "test.sh: FAILED: the aimabot binary links test tooling; keep it in tests and cmd/aimabot-load:" >&2
	printf '    %s\n' $linked >&2
	exit 1
fi
echo "+ go vet ${pkgs[*]}"
go vet "${pkgs[@]}"
# staticcheck is pinned by the tool directive in go.mod.
echo "+ go tool staticcheck ${pkgs[*]}"
go tool staticcheck "${pkgs[@]}"
echo "+ go test -count=1 ${race[*]:-} -timeout 8m ${flags[*]:-} ${pkgs[*]}"
go test -count=1 ${race[@]+"${race[@]}"} -timeout 8m ${flags[@]+"${flags[@]}"} "${pkgs[@]}"

# --- Container image ---------------------------------------------------------

# The Dockerfile is built when a container engine answers (docker info), and
# the image's own binary must print its version; TestDockerfile and
# TestComposeFile check the files' structure either way. Only for whole runs
# (not ./some/package or -run), not for benchmarks.
if [ "${pkgs[*]}" = "./..." ] && [ ${#flags[@]} -eq 0 ]; then
	if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
		echo "+ docker build -t aimabot:test ."
		docker build -q -t aimabot:test . >/dev/null
		docker run --rm aimabot:test version
	else
		echo "test.sh: no container engine answers here (docker info): the image is not built; its files' structure was checked"
	fi
fi

# --- Fuzzing -----------------------------------------------------------------

# The seed corpora already ran above as ordinary tests; this looks a little
# further. By default the whole phase, building the instrumented test
# binaries included, gets one budget (AIMABOT_FUZZBUDGET, default 30s):
# each run fuzzes a window of the targets, as many as get about 15 s each
# with two running at a time, starting at a place picked by
# AIMABOT_FUZZSEED (printed; the time by default, so successive runs move
# through all targets). AIMABOT_FUZZTIME=D instead fuzzes every target for
# D; AIMABOT_FUZZTIME=0 or AIMABOT_FUZZBUDGET=0 skips fuzzing, and so do
# -bench runs. Each package's instrumented binary is built once and runs
# its targets one at a time as Go requires, one fuzzing worker each. A
# failing input is written to <package>/testdata/fuzz/<Target>/ and the
# script fails; replay it with `go test ./<package> -run '<Target>/<file>'`.
fuzztime=${AIMABOT_FUZZTIME:-}
budget=${AIMABOT_FUZZBUDGET:-30s}
if [ "$bench" = true ] || [ "$fuzztime" = 0 ] || [ "$fuzztime" = 0s ] || [ "$budget" = 0 ] || [ "$budget" = 0s ]; then
	exit 0
fi
# seconds converts 90, 90s, 2m or 1m30s to seconds.
seconds() {
	local d=$1 total=0
	if [[ "$d" =~ ^[0-9]+$ ]]; then
		echo "$d"
		return
	fi
	if ! [[ "$d" =~ ^(([0-9]+)m)?(([0-9]+)s)?$ ]] || [ -z "$d" ]; then
		echo "test.sh: FAILED: AIMABOT_FUZZBUDGET=$d: want seconds, like 60s or 2m" >&2
		return 1
	fi
	total=$((${BASH_REMATCH[2]:-0} * 60 + ${BASH_REMATCH[4]:-0}))
	echo "$total"
}
budget_s=$(seconds "$budget")
fuzz_start=$SECONDS
lanes=2
slot=15 # seconds a target gets when the builds cost nothing
tmin=5  # the least a target gets: its seed corpus runs first, within that
gocache=$(go env GOCACHE)
fuzz_dir="$redis_dir/fuzz"
mkdir -p "$fuzz_dir"
# The instrumented binaries stay between runs, one directory per checkout:
# go test -c does not link again a binary that is up to date.
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/aimabot-test/fuzz-$(pwd | cksum | cut -d' ' -f1)"
mkdir -p "$bin_dir"

# Targets: "import path<TAB>directory<TAB>name", found in the test files.
targets=()
while IFS=$'\t' read -r imp dir file; do
	while IFS= read -r name; do
		targets+=("$imp"$'\t'"$dir"$'\t'"$name")
	done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)([A-Za-z0-9_]* \*testing\.F).*/\1/p' "$dir/$file")
done < <(go list -f '{{$p := .}}{{range .TestGoFiles}}{{$p.ImportPath}}{{"\t"}}{{$p.Dir}}{{"\t"}}{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$p.ImportPath}}{{"\t"}}{{$p.Dir}}{{"\t"}}{{.}}{{"\n"}}{{end}}' "${pkgs[@]}")
n=${#targets[@]}
if [ "$n" -eq 0 ]; then
	exit 0
fi
picked=()
if [ -n "$fuzztime" ]; then
	picked=("${targets[@]}")
	echo "+ fuzzing all $n targets for $fuzztime each (AIMABOT_FUZZTIME), $lanes at a time"
else
	seed=${AIMABOT_FUZZSEED:-$(date +%s)}
	k=$((lanes * budget_s / slot))
	k=$((k < 1 ? 1 : k > n ? n : k))
	for ((j = 0; j < k; j++)); do
		picked+=("${targets[$(((seed + j) % n))]}")
	done
	echo "+ fuzzing $k of $n targets within $budget_s s, builds included (AIMABOT_FUZZBUDGET=$budget AIMABOT_FUZZSEED=$seed; AIMABOT_FUZZTIME=30s fuzzes every target for 30 s)"
fi

# One instrumented test binary per package. Building one costs about a
# second when the build cache has it, tens of seconds after a change to a
# package the binary holds, minutes on a cold cache (every dependency is
# compiled again with the fuzzer's instrumentation). A build gets what is
# left of the budget: one that does not finish in it is stopped (what it
# compiled stays in the build cache for the next run) and its package's
# targets are left for later runs; so are those of packages not built yet
# once builds have taken a third of the budget.
built=()
unbuilt=()
kept=()
for t in "${picked[@]}"; do
	IFS=$'\t' read -r imp dir name <<<"$t"
	bin="$bin_dir/${imp//\//_}.test"
	if [[ " ${unbuilt[*]-} " == *" $bin "* ]]; then
		continue
	fi
	if [[ " ${built[*]-} " != *" $bin "* ]]; then
		if [ -z "$fuzztime" ] && [ ${#built[@]} -gt 0 ] && [ $((3 * (SECONDS - fuzz_start))) -ge "$budget_s" ]; then
			echo "test.sh: NOTE: building for fuzzing took $((SECONDS - fuzz_start)) s; $name in $imp is left for another run"
			continue
		fi
		s=$SECONDS
		limit=()
		if [ -z "$fuzztime" ]; then
			left=$((budget_s - (SECONDS - fuzz_start)))
			limit=(timeout -k 5 "$((left > 1 ? left : 1))")
		fi
		rc=0
		${limit[@]+"${limit[@]}"} go test -c -fuzz=. -o "$bin" "$imp" || rc=$?
		if [ "$rc" -eq 124 ]; then
			echo "test.sh: NOTE: building $imp for fuzzing did not finish within the budget ($((SECONDS - fuzz_start)) s); what it compiled is cached, and its targets are left for another run"
			unbuilt+=("$bin")
			continue
		elif [ "$rc" -ne 0 ]; then
			echo "test.sh: FAILED: building $imp for fuzzing" >&2
			exit 1
		fi
		built+=("$bin")
		echo "+ go test -c -fuzz=. $imp ($((SECONDS - s)) s)"
	fi
	kept+=("$t")
done
if [ ${#kept[@]} -eq 0 ]; then
	echo "fuzzing took $((SECONDS - fuzz_start)) s (no target built in time)"
	exit 0
fi
picked=("${kept[@]}")
if [ -n "$fuzztime" ]; then
	each=$fuzztime
	timeout=0
else
	left=$((budget_s - (SECONDS - fuzz_start)))
	batches=$(((${#picked[@]} + lanes - 1) / lanes))
	per=$((left > 0 ? left / batches : 0))
	if [ "$per" -lt "$tmin" ]; then
		echo "test.sh: NOTE: building for fuzzing took $((SECONDS - fuzz_start)) s of the $budget_s s budget; each target still gets $tmin s"
		per=$tmin
	fi
	each=${per}s
	timeout=$((per + 120))s
fi

# fuzz_one runs target $4 of package $2 (directory $3), writing its output
# to $fuzz_dir/$1.log and "rc package target" to $fuzz_dir/$1.rc. A seed
# corpus that does not finish within the time (a busy machine, a grown
# cache of interesting inputs) ends with "context deadline exceeded": no
# finding, only a note.
fuzz_one() {
	local rc=0
	(cd "$3" && "$bin_dir/${2//\//_}.test" -test.run='^$' -test.fuzz="^$4\$" -test.fuzztime="$each" \
		-test.fuzzminimizetime=1s -test.parallel=1 -test.timeout="$timeout" -test.fuzzcachedir="$gocache/fuzz/$2") \
		>"$fuzz_dir/$1.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "context deadline exceeded" "$fuzz_dir/$1.log" &&
		! grep -q "Failing input" "$fuzz_dir/$1.log"; then
		rc=-1
	fi
	echo "$rc $2 $4" >"$fuzz_dir/$1.rc"
}
i=0
batch=()
for t in "${picked[@]}"; do
	IFS=$'\t' read -r imp dir name <<<"$t"
	i=$((i + 1))
	echo "+ fuzz $name in $imp for $each"
	fuzz_one "$i" "$imp" "$dir" "$name" &
	batch+=("$!")
	if [ ${#batch[@]} -eq "$lanes" ]; then
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
	if [ "$rc" = -1 ]; then
		echo "test.sh: NOTE: $name in $pkg ran its seed corpus only: it did not finish within $each"
	elif [ "$rc" -ne 0 ]; then
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
