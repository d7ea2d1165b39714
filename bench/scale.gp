# scale.gp -- draw weir-bench's scale scenario (CACHE/scale.tsv): the
# engine's aggregate packet rate against the number of workers, fed by
# symmetric RSS (one queue each) or by the software distributor (worker 0
# reads the one queue and hands the others their share); points at the
# median, bars from min to max over the runs. The grey line is linear
# scaling from one RSS worker.
#
#   gnuplot -e "in='build/bench-cache/scale.tsv'; out='docs/img/scale.png'" bench/scale.gp
#
# Columns (see bench/scale.c): mode workers median_mpps min_mpps max_mpps runs.

if (!exists("in")) in = "build/bench-cache/scale.tsv"
if (!exists("out")) out = "docs/img/scale.png"

set terminal pngcairo size 800,520 font "sans,10"
set output out
set datafile separator "\t"
set grid
set key top left
set xlabel "workers"
set ylabel "packets per second, all workers (M)"
set title "weir-bench scale: 4096 TCP flows, 64-byte frames, DPI off"

sel(m) = sprintf("< awk -F'\\t' '$1==\"%s\"' '%s'", m, in)
stats sel("rss") using 2 nooutput
nmax = STATS_max
stats sel("rss") using ($2 == 1 ? $3 : NaN) nooutput
w1 = STATS_max

set xrange [0.5:nmax + 0.5]
set xtics 1
set yrange [0:*]
plot x * w1 with lines lc rgb "#bbbbbb" dt 2 title "linear from rss w1", \
     sel("rss") using 2:3:4:5 with yerrorlines pt 7 lc rgb "#d62728" title "symmetric RSS, a queue per worker", \
     sel("dist") using 2:3:4:5 with yerrorlines pt 5 lc rgb "#1f77b4" title "software distributor, one queue"
