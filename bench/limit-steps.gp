# limit-steps.gp -- draw weir-bench's limit steps (CACHE/limit-steps.tsv):
# what a packet costs one lcore, in TSC cycles at the median rate, from
# the bare receive-and-free up to the engine's worker, on hot's 64 flows
# and cold's 1M; each bar is labelled with its rate over limit(net_null).
# The dashed lines are issue 8's targets in the same unit: hot >= 0.80
# and cold >= 0.45 of limit(net_null) are these many cycles a packet.
#
#   gnuplot -e "in='build/bench-cache/limit-steps.tsv'; out='docs/img/limit-steps.png'" bench/limit-steps.gp
#
# Columns (see bench/limit_steps.c): group step median_mpps min_mpps
# max_mpps cycles_per_pkt of_limit.

if (!exists("in")) in = "build/bench-cache/limit-steps.tsv"
if (!exists("out")) out = "docs/img/limit-steps.png"

set terminal pngcairo size 900,600 font "sans,10" noenhanced
set output out
set datafile separator "\t"
set title "weir-bench limit steps: cycles a packet on one lcore (label: rate / limit(net_null))"
set ylabel "TSC cycles a packet (lower is faster)"
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set key top left
set xtics rotate by 30 right nomirror
set bmargin 10
set lmargin 14

stats in using 6 nooutput
limit_cyc = STATS_min
set yrange [0:STATS_max * 1.15]
set xrange [-0.6:STATS_records - 0.4]

hot_t = limit_cyc / 0.80
cold_t = limit_cyc / 0.45
plot hot_t with lines dt 2 lw 1.5 lc rgb "#d62728" title sprintf("hot target: 0.80 of limit = %.0f cycles", hot_t), \
     cold_t with lines dt 2 lw 1.5 lc rgb "#1f77b4" title sprintf("cold target: 0.45 of limit = %.0f cycles", cold_t), \
     in using 0:(strcol(1) eq "hot" ? $6 : NaN):xtic(2) with boxes lc rgb "#f4a582" title "hot's frames (64 flows)", \
     in using 0:(strcol(1) eq "cold" ? $6 : NaN) with boxes lc rgb "#92c5de" title "cold's frames (1M flows)", \
     in using 0:6:(sprintf("%.2f", $7)) with labels offset 0,0.8 notitle
