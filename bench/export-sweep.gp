# export-sweep.gp -- draw weir-bench's export sweep (CACHE/export-sweep.tsv)
# as records taken against records offered, one panel per stream, one line
# per collector and run (nfcapd and nfacctd for NetFlow v9 and IPFIX,
# sfacctd for sFlow); a filled point is a lossless step, an open one a
# lossy step. The grey diagonal is "took everything".
#
#   gnuplot -e "in='build/bench-cache/export-sweep.tsv'; out='docs/img/export-sweep.png'" \
#           bench/export-sweep.gp
#
# Columns (see bench/export.c): stream collector run offered_rps sent_rps
# taken_rps loss_pct backlog_kib settle_ms kernel_drops own_drops lossless.
# Offered is the paced target; the x position is what the sender achieved.

if (!exists("in")) in = "build/bench-cache/export-sweep.tsv"
if (!exists("out")) out = "docs/img/export-sweep.png"

set terminal pngcairo size 1500,520 font "sans,10"
set output out
set datafile separator "\t"
set logscale xy 10
set format x "%.0s%c"
set format y "%.0s%c"
set grid
set key top left
set xlabel "records (samples) per second sent"
set ylabel "records (samples) per second taken"

sel(s, c, r) = sprintf("< awk -F'\\t' '$1==\"%s\" && $2==\"%s\" && $3==%d' '%s'", s, c, r, in)

set multiplot layout 1,3 title "weir-bench export sweep: loopback UDP, paced replay (filled: lossless step, open: lossy)"
do for [st in "nf9 ipfix sflow"] {
	peer = (st eq "sflow") ? "sfacctd" : "nfcapd"
	set title (st eq "nf9" ? "NetFlow v9 (softflowd)" : st eq "ipfix" ? "IPFIX (softflowd)" : "sFlow v5 (pmacctd sfprobe)")
	plot [1e4:2e7] [1e4:2e7] x with lines lc rgb "#bbbbbb" notitle, \
	     for [r=1:5] sel(st, "weir", r) using 5:6:($12 > 0 ? 7 : 6) with linespoints pt variable lc rgb "#d62728" \
	     title (r == 1 ? "weir" : ""), \
	     for [r=1:5] sel(st, peer, r) using 5:6:($12 > 0 ? 5 : 4) with linespoints pt variable lc rgb "#1f77b4" \
	     title (r == 1 ? peer : ""), \
	     for [r=1:5] sel(st, "nfacctd", r) using 5:6:($12 > 0 ? 9 : 8) with linespoints pt variable \
	     lc rgb "#2ca02c" title (r == 1 && st ne "sflow" ? "nfacctd" : "")
}
unset multiplot
