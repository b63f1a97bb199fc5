# LoD on a trained MLP: test accuracy against the parameter ratio (weights of the network / the
# dense network's, log x), the LoD network at each level b beside the dense network's svd_w and
# dd_rank truncations at the same ranks (mean over the trials, bars from the least to the largest
# accuracy), and the dense network's accuracy dashed (lrlab plot, experiment lod, problem network).
# Blocks of accuracy.dat: lod, svd_w, dd_rank, dense; columns ratio, mean, min, max.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, problem, n, tol, subtitle.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.6
if (!exists("subtitle")) subtitle = ""
load plotsdir."/style.gp"
set title title."\naccuracy at equal parameters\n(measured, ".subtitle.")"
set xlabel "weights / dense network's"
set ylabel "test accuracy (fraction correct)"
# before any range is set: stats of one column filters it by the y range
stats dir."/accuracy.dat" index 3 using 2 nooutput
dense_acc = STATS_mean
# the x range of the measured levels, with a margin on the log scale
stats dir."/accuracy.dat" index 0:2 using 1 nooutput
set xrange [STATS_min / 1.4 : STATS_max * 1.4]
set logscale x
set yrange [0:1]
plot dir."/accuracy.dat" index 0 using 1:2:3:4 with yerrorlines lw lw_meas pt 7 ps ps_meas lc rgb "#1b62a5" \
        title "LoD, first b components", \
     dir."/accuracy.dat" index 1 using 1:2:3:4 with yerrorlines lw lw_meas pt 4 ps ps_meas lc rgb "#d1495b" \
        title "svd_w of the dense net", \
     dir."/accuracy.dat" index 2 using 1:2:3:4 with yerrorlines lw lw_meas pt 8 ps ps_meas lc rgb "#2a9d55" \
        title "dd_rank of the dense net", \
     dense_acc with lines dt 2 lw lw_meas lc rgb "#000000" title "dense net"
