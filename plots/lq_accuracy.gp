# Test accuracy of a dump's network pruned WITHOUT retraining against the percentage of its
# weights kept, one measured curve per pruning method (lrlab plot, experiment lq, part prune).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, names, n, n2.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.2
load plotsdir."/style.gp"
set title title."\ntest accuracy, no retraining (measured)"
set xlabel "weights kept (% of the pruned layers)"
set ylabel "test accuracy"
set logscale x
set xrange [:100]
set yrange [*:1]
array colours[12] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888", "#a6cee3", "#fb9a99", "#b2df8a", "#000000"]
plot for [v=1:n] dir."/accuracy.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
        lc rgb colours[(v-1)%12+1] title word(names, v)
