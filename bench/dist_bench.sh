#!/bin/sh
# Sweeps across ranks (issue 17): what bench/README.md's "MPI and shards" section reports.
#   1. parallel efficiency of configs/thm1.cfg with 1 and 2 MPI ranks (-j 1 each), medians
#      of REPEATS runs, taken alternately so that a load on the machine hits both alike;
#   2. bytes gathered per unit and rank 0's gather rate (rows per second of its busy time:
#      receiving, storing, logging) on a cheap sweep with many units;
#   3. peak RSS of rank 0 and of rank 1 (GNU time) on a large cheap sweep, next to the
#      results table's size and a plain run's peak.
# usage: bench/dist_bench.sh BUILDDIR [REPEATS [OVERRIDE ...]]   (overrides of thm1.cfg, e.g.
# trials=100 for a quarter of the work; needs an lrlab built with MPI, h5dump,
# /usr/bin/time; about 10 minutes on 2 cores)
set -eu
build=${1:?usage: dist_bench.sh BUILDDIR [REPEATS]}
repeats=${2:-3}
shift
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/.." && pwd)
lrlab="$build/lrlab"
mpi="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" = 0 ] && mpi="$mpi --allow-run-as-root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
attr() { h5dump -a "$2" "$1" | awk '/\(0\):/ { print $2; exit }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wall() { # wall seconds of a command
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

echo "# 1. efficiency on configs/thm1.cfg $* ($repeats runs each, alternating)"
: >"$work/t1"
: >"$work/t2"
for i in $(seq "$repeats"); do
    wall $mpi -n 1 "$lrlab" run "$src/configs/thm1.cfg" "$@" -o "$work/r1.h5" -j 1 --force --quiet >>"$work/t1"
    wall $mpi -n 2 "$lrlab" run "$src/configs/thm1.cfg" "$@" -o "$work/r2.h5" -j 1 --force --quiet >>"$work/t2"
done
t1=$(median <"$work/t1")
t2=$(median <"$work/t2")
echo "1 rank: $(tr '\n' ' ' <"$work/t1")s, median $t1 s"
echo "2 ranks: $(tr '\n' ' ' <"$work/t2")s, median $t2 s"
echo "efficiency 2 ranks: $(echo "$t1 / (2 * $t2)" | bc -l | cut -c1-5)"
echo "units rank 1 ran: $(attr "$work/r2.h5" gathered_units) of $(( $(attr "$work/r2.h5" points) * $(attr "$work/r2.h5" trials) ))"
h5diff -q "$work/r1.h5" "$work/r2.h5" /trials && echo "1 and 2 ranks: identical /trials"

# A cheap sweep: 8 points x TRIALS trials of a 12 x 6 x 5 layer (4 rows per unit).
cheap() {
    echo "problem.m=12 problem.m_test=0 problem.N0=6 problem.N1=5 problem.r=[1,2] trials=$1"
}
echo "# 2. gather rate (cheap sweep, 2 ranks, rank 1 with -j 1)"
units=$((8 * 20000))
$mpi -n 2 "$lrlab" run "$src/configs/quick/thm1.cfg" $(cheap 20000) -o "$work/g.h5" -j 1 --force --quiet
g=$(attr "$work/g.h5" gathered_units)
gs=$(attr "$work/g.h5" gather_seconds)
ws=$(attr "$work/g.h5" wall_seconds)
ncols=$("$lrlab" export "$work/g.h5" trials | head -1 | awk -F'\t' '{ print NF }')
echo "units $units, gathered from rank 1: $g, rank 0's gather time $gs s, wall $ws s"
echo "columns $ncols: bytes per unit up 8 * (2 + 4 * ($ncols + 1)) = $((8 * (2 + 4 * (ncols + 1)))), down 8"
echo "gather rate: $(echo "$g / $gs" | bc -l | cut -c1-9) units/s = $(echo "4 * $g / $gs" | bc -l | cut -c1-9) rows/s"

echo "# 3. peak RSS (KiB) on a large cheap sweep"
big=100000
$mpi -n 2 sh -c \
    "exec /usr/bin/time -f \"rank \$OMPI_COMM_WORLD_RANK maxrss_kib %M\" \"$lrlab\" run \"$src/configs/quick/thm1.cfg\" $(cheap $((big / 8))) -o \"$work/big.h5\" -j 1 --force --quiet" \
    2>&1 | grep maxrss_kib || true
/usr/bin/time -f "plain -j 1 maxrss_kib %M" "$lrlab" run "$src/configs/quick/thm1.cfg" $(cheap $((big / 8))) \
    -o "$work/bigp.h5" -j 1 --force --quiet 2>&1 | grep maxrss_kib
echo "table: $big units x 4 rows x ($ncols + 1) doubles = $((big * 4 * (ncols + 1) * 8 / 1024)) KiB"
