# Pruned random one-hidden-layer networks: the largest measured output change over the test
# points against the degradation bound lq_degrade, one point per trial and activation, with
# the line y = x (points below it: the bound held) (lrlab plot, experiment lq, part network).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, names, n, n2.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.9
load plotsdir."/style.gp"
set title title."\noutput change after pruning against its bound"
set xlabel "bound B Σ_j |a_j| ‖w_j‖_q k_j^(1−1/q)"
set ylabel "max_x |f(x) − f^(x)|, measured"
set logscale xy
set format y "1e%L"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/degrade.dat" index (v-1) using 1:2 with points pt 7 ps ps_meas \
        lc rgb colours[(v-1)%8+1] title word(names, v), \
     dir."/degrade.dat" index 0 using 1:3 with points pt 6 ps ps_meas \
        lc rgb colours[5] title "B Σ_j |a_j| ‖w_j − w^_j‖_1", \
     x with lines lw lw_bound dt dt_always lc rgb "#000000" title "y = bound"
