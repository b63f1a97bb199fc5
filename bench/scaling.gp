# Scaling figure of bench/scaling.py: three log-log panels, measured times as points, the
# least-squares fit as a solid line and the cost model's slopes as dashed grey guides.
# Variables set by the caller: dat, out, term, sm, sn, st (fitted slopes), nn, mn, mt.
set terminal @term
set output out
set multiplot layout 1,3 title "lrlab, Gram route, one thread: measured times (points), least-squares fits (solid), expected slopes (dashed)"
set logscale xy
set grid
set key top left box opaque
set format y "%g"
set format x "%g"
set autoscale fix
set offsets graph 0.06, graph 0.06, graph 0.1, graph 0.1

set title sprintf("time per trial vs m (N_0 = N_1 = %d)", nn)
set xlabel "calibration samples m"
set ylabel "time per trial [s]"
plot dat index 0 using 1:2 with points pt 7 ps 1.2 lc rgb "#1f77b4" title "measured (median of trials)", \
     ''  index 0 using 1:3 with lines lw 2 lc rgb "#1f77b4" title sprintf("fit: slope %.2f", sm), \
     ''  index 0 using 1:4 with lines dt 2 lw 2 lc rgb "gray40" title "expected slope 1"

set title sprintf("time per trial vs N_0 = N_1 (m = %d)", mn)
set xlabel "layer width N_0 = N_1"
plot dat index 1 using 1:2 with points pt 7 ps 1.2 lc rgb "#d62728" title "measured (median of trials)", \
     ''  index 1 using 1:3 with lines lw 2 lc rgb "#d62728" title sprintf("fit: slope %.2f", sn), \
     ''  index 1 using 1:4 with lines dt 4 lw 2 lc rgb "gray20" title "slope 1 (RNG, m (N_0+N_1) draws)", \
     ''  index 1 using 1:5 with lines dt 2 lw 2 lc rgb "gray40" title "slope 2 (streaming, m N^2 flops)", \
     ''  index 1 using 1:6 with lines dt 3 lw 2 lc rgb "gray60" title "slope 3 (N^3 factorisations)"

set title sprintf("run time vs number of trials (m = %d, N = %d)", mt, nn)
set xlabel "trials"
set ylabel "run time [s]"
plot dat index 2 using 1:2 with points pt 7 ps 1.2 lc rgb "#2ca02c" title "measured (whole run)", \
     ''  index 2 using 1:3 with lines lw 2 lc rgb "#2ca02c" title sprintf("fit: slope %.2f", st), \
     ''  index 2 using 1:4 with lines dt 2 lw 2 lc rgb "gray40" title "expected slope 1"
unset multiplot
