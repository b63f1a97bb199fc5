# LoD linear recovery: the largest sine of a principal angle between the trained and the true
# nested subspaces (over every b and both sides) against the full-batch step, a curve per
# trial, log y (lrlab plot, experiment lod).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, problem, n, tol.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
load plotsdir."/style.gp"
set title title."\nangle sine vs step (".problem.")"
set xlabel "full-batch step (thousands)"
set ylabel "max over b of sin(largest angle)"
set logscale y
set format y "1e%L"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/angles.dat" index (v-1) using ($1/1000):2 with lines lw lw_meas lc rgb colours[(v-1)%8+1] \
        title (v == 1 ? sprintf("measured, %d trials", n) : ""), \
     tol with lines dt 2 lw 1 lc rgb "black" title "target 1e-6"
