# Kernel errors ||K - K~||_2 / ||K||_2 against the dimension p at fixed p / n (lrlab plot,
# experiment ntk), medians over trials, one colour per activation: the CK's equivalent
# kernel with the identity term matched to the diagonal (solid, circles) and with
# docs/theory.md's identity term (thin, open circles), the NTK's (squares), the compressed network's
# exact CK plus the identity shift (triangles; all measured, so all solid: drawn only where every layer's fit
# converged); grey: the theory's slope -1/2.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, acts, na, act1.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.6
load plotsdir."/style.gp"
set title title."\nkernel error against the dimension"
set xlabel "dimension p (n grows with p)"
set ylabel "‖K − K̃‖_2 / ‖K‖_2 (median over trials)"
set logscale x 2
set logscale y
set format x "%.0f"
set format y "%.0e"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
stats dir."/error.dat" using 1 nooutput
set xrange [STATS_min / 1.15 : STATS_max * 1.15]
stats dir."/error.dat" index 0 using 1:2 nooutput
x0 = STATS_min_x
y0 = STATS_max_y
ref(x) = y0 * (x / x0)**(-0.5)
# Colour: the activation; line style: the kernel (legend entries drawn once each).
plot for [a=1:na] dir."/error.dat" index (a-1) using 1:($2 > 0 ? $2 : 1/0) with linespoints lw 2 pt 7 ps 0.7 \
        lc rgb colours[(a-1)%8+1] notitle, \
     for [a=1:na] dir."/error.dat" index (a-1) using 1:($3 > 0 ? $3 : 1/0) with linespoints lw 1 pt 6 ps 0.5 \
        lc rgb colours[(a-1)%8+1] notitle, \
     for [a=1:na] dir."/error.dat" index (a-1) using 1:($4 > 0 ? $4 : 1/0) with linespoints lw 1.6 pt 5 ps 0.5 \
        lc rgb colours[(a-1)%8+1] notitle, \
     for [a=1:na] dir."/error.dat" index (a-1) using 1:($6 > 0 ? $6 : 1/0) with linespoints lw 1.3 pt 9 ps 0.5 \
        lc rgb colours[(a-1)%8+1] notitle, \
     for [a=1:na] NaN with lines lw 3 lc rgb colours[(a-1)%8+1] title word(acts, a), \
     NaN with linespoints lw 2 pt 7 lc rgb "black" title "CK, identity matched", \
     NaN with linespoints lw 1 pt 6 lc rgb "black" title "CK, docs/theory.md identity", \
     NaN with linespoints lw 1.6 pt 5 lc rgb "black" title "NTK, identity matched", \
     NaN with linespoints lw 1.3 pt 9 lc rgb "black" title "compressed CK + shift", \
     ref(x) with lines lw 1 lc rgb "#999999" title "slope -1/2 (theory)"
