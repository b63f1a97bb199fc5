# The finite networks' empirical CK against the exact infinite-width CK: ||CK_emp - K||_2 /
# ||K||_2 against the width (lrlab plot, experiment ntk), medians over trials: dense
# Gaussian weights (solid) and the compressed network, ternary weights with sigma_T /
# sigma_Q, against its own exact CK (dashed); grey: slope -1/2, the Monte Carlo rate.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, acts, na, act1.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.4
load plotsdir."/style.gp"
set title title."\nfinite width against the infinite-width CK"
set xlabel "width d of every hidden layer"
set ylabel "‖CK_emp − K_CK‖_2 / ‖K_CK‖_2 (measured)"
set logscale x 2
set logscale y
set format x "%.0f"
set format y "%.0e"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
stats dir."/width.dat" index 0 using 1:2 nooutput
x0 = STATS_min_x
y0 = STATS_max_y
ref(x) = y0 * (x / x0)**(-0.5)
plot for [a=1:na] dir."/width.dat" index (a-1) using 1:($2 > 0 ? $2 : 1/0) with linespoints lw 2 pt 7 ps 0.8 \
        lc rgb colours[(a-1)%8+1] title word(acts, a)." dense (Gaussian weights)", \
     for [a=1:na] dir."/width.dat" index (a-1) using 1:($3 > 0 ? $3 : 1/0) with linespoints lw 1.5 pt 6 ps 0.6 \
        lc rgb colours[(a-1)%8+1] title word(acts, a)." compressed (ternary)", \
     ref(x) with lines lw 1 lc rgb "#999999" title "slope -1/2"
