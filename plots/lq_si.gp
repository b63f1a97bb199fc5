# The mean l_q sparsity index of each layer's neurons (over their surviving weights) across
# the rounds of the adaptive rule, with or without retraining (subtitle says) (lrlab plot, experiment lq, part prune).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, names, n, n2, subtitle.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
load plotsdir."/style.gp"
if (!exists("subtitle")) subtitle = ""
set title title."\nadaptive rule: SI_q per layer\n(".subtitle.")"
set xlabel "round r (0: dense)"
# Rounds are whole numbers: a tic per round up to 10 rounds, else every fifth.
stats dir."/si.dat" using 1 nooutput
tic_step = STATS_max <= 10 ? 1 : 5
set xtics tic_step
set ylabel "mean SI_q of survivors (1: equal)"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/si.dat" index (v-1) using 1:2 with linespoints lw lw_meas pt 7 ps ps_meas \
        lc rgb colours[(v-1)%8+1] title "layer ".word(names, v)
