# Test accuracy of a pruned network against the percentage of its weights kept, one measured
# curve per pruning method (lrlab plot, experiment lq, part prune); the low-rank truncations
# (svd_w, dd_rank: factor parameters r (N0 + N1) as the "weights kept") as open markers at
# the same parameter counts, and the dense network's accuracy as a dashed line (the last
# block, n2 = 1).  subtitle says whether the run retrained.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, names, n, n2, subtitle.
if (!exists("dpw")) dpw = 3.5
# a tall figure when the ablation gives many curves: the legend below must not squash the plot
if (!exists("dph")) dph = 3.2 + (n > 6 ? 0.16 * (n - 6) : 0)
if (!exists("subtitle")) subtitle = ""
load plotsdir."/style.gp"
set title title."\naccuracy, ".subtitle." (measured)"
set xlabel "weights kept (%; low rank: parameters)"
set ylabel "test accuracy"
set logscale x
set xrange [:100]
set yrange [*:1]
set key bottom right
array colours[12] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888", "#a6cee3", "#fb9a99", "#b2df8a", "#000000"]
lowrank(v) = strstrt(word(names, v), "svd_w") > 0 || strstrt(word(names, v), "dd_rank") > 0
last(v) = n2 > 0 && v == n
prunes(v) = !lowrank(v) && !last(v)
plot for [v=1:n] dir."/accuracy.dat" index (v-1) using 1:(prunes(v) ? $2 : NaN) with linespoints lw lw_meas pt 7 \
        ps ps_meas lc rgb colours[(v-1)%12+1] title (prunes(v) ? word(names, v) : ""), \
     for [v=1:n] dir."/accuracy.dat" index (v-1) using 1:(lowrank(v) ? $2 : NaN) with points pt (strstrt(word(names, v), "svd") ? 4 : 8) \
        ps 1.3*ps_meas lw lw_meas lc rgb colours[(v-1)%12+1] title (lowrank(v) ? word(names, v)." (low rank)" : ""), \
     for [v=n:n] dir."/accuracy.dat" index (v-1) using 1:(last(v) ? $2 : NaN) with lines dt 2 lw lw_meas lc rgb "#000000" \
        title (last(v) ? "dense network" : "")
