# LoD: the relative importance ||U_{:,b:}||_F ||V_{:,b:}||_F / (||U||_F ||V||_F) of each
# component b of the trained layer, a curve per trial, log y (lrlab plot, experiment lod);
# planted rank: before the last pruning, with the pruning threshold (tol > 0; -1: none).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, problem, n, tol.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
load plotsdir."/style.gp"
set title title."\nimportance per component (".problem.")"
set xlabel "component b"
set ylabel "relative importance (dimensionless)"
set logscale y
set format y "1e%L"
set xtics 1
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
if (tol > 0) {
    plot for [v=1:n] dir."/importance.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
            lc rgb colours[(v-1)%8+1] title (v == 1 ? sprintf("measured, %d trials", n) : ""), \
         tol with lines dt 2 lw 1 lc rgb "black" title "pruning threshold lod.prune_tol"
} else {
    plot for [v=1:n] dir."/importance.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
            lc rgb colours[(v-1)%8+1] title (v == 1 ? sprintf("measured, %d trials", n) : "")
}
