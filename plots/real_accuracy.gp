# Test accuracy of the sequentially compressed network (ZS25) against its parameter ratio
# (lrlab plot, experiment real_layers): one measured curve per compressor, and the dense
# network's accuracy (grey).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, ncomp, comps, ccomp (their colours), dense.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
load plotsdir."/style.gp"
set title title."\ntest accuracy after sequential compression"
set xlabel "parameters kept / dense (whole network)"
set ylabel "test accuracy"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set xrange [0:*]
set yrange [0:1]
plot for [c=1:ncomp] dir."/acc.dat" index (c-1) using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb word(ccomp,c) title word(comps,c), \
     (dense > 0 ? dense : 1/0) with lines lw 2 dt 2 lc rgb "#888888" title sprintf("dense network (%.4f)", dense)
