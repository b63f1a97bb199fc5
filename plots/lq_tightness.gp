# Tightness (measured truncation error / bound) of the two l_q truncation bounds against the
# kept count k, the median over the vectors of each distribution or dump layer (lrlab plot,
# experiment lq, part vectors).  1 would be an attained bound; every point lies below it.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, names, n, n2.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.4
load plotsdir."/style.gp"
set title title."\nmedian tightness: measured error / bound"
set xlabel "entries kept k (log scale)"
set ylabel "‖w − w_[k]‖ / bound (median)"
set logscale xy
set format y "1e%L"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/tightness.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
        lc rgb colours[(v-1)%8+1] title word(names, v).": l1, lq_l1", \
     for [v=1:n] dir."/tightness.dat" index (v-1) using 1:3 with linespoints lw lw_meas pt 5 ps ps_meas \
        lc rgb colours[(v-1)%8+1] title word(names, v).": l2, lq_l2 (squares)"
