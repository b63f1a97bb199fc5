# LoD: the relative importance ||U_{:,b:}||_F ||V_{:,b:}||_F / (||U||_F ||V||_F) of each
# component b of the trained layer, a curve per trial, log y (lrlab plot, experiment lod);
# planted rank: before the last pruning, with the pruning threshold (tol > 0; -1: none);
# network: a curve per trial and factored layer (the blocks cycle through layer_names), one
# colour per layer.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, problem, n, tol,
# and for a network layer_names.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
if (!exists("layer_names")) layer_names = ""
load plotsdir."/style.gp"
set title title."\nimportance per component (".problem.")"
set xlabel "component b"
set ylabel "relative importance (dimensionless)"
set logscale y
set format y "1e%L"
# a tic per component for a few components, gnuplot's own beyond 20
stats dir."/importance.dat" using 1 nooutput
if (STATS_max <= 20) set xtics 1
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
nl = words(layer_names)
ntr = nl > 0 ? n / nl : n
colour(v) = nl > 0 ? colours[(v-1)%nl+1] : colours[(v-1)%8+1]
label(v) = nl > 0 ? (v <= nl ? sprintf("%s, %d trials", word(layer_names, v), ntr) : "") \
                  : (v == 1 ? sprintf("measured, %d trials", n) : "")
if (tol > 0) {
    plot for [v=1:n] dir."/importance.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
            lc rgb colour(v) title label(v), \
         tol with lines dt 2 lw 1 lc rgb "black" title "pruning threshold lod.prune_tol"
} else {
    plot for [v=1:n] dir."/importance.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
            lc rgb colour(v) title label(v)
}
