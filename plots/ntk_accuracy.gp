# Test accuracy of the closed-form ridge head on the last layer's features of the finite
# random network, against the memory of its weights (lrlab plot, experiment ntk, real
# data), medians over trials: the dense network (32 bits per weight, filled circles) and
# the compressed one ((1 - eps) bits per weight, open circles, one per sparsity eps).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, acts, na, act1.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.2
load plotsdir."/style.gp"
set title title."\nridge head accuracy against memory"
set xlabel "memory of the weights (bits, log scale)"
set ylabel "test accuracy (measured)"
set logscale x
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [a=1:na] dir."/acc.dat" index (a-1) using 1:2 with points pt 7 ps 1.4 lc rgb colours[(a-1)%8+1] \
        title word(acts, a)." dense", \
     for [a=1:na] dir."/acc.dat" index (a-1) using 3:4 with linespoints lw 1.5 pt 6 ps 1.4 lc rgb colours[(a-1)%8+1] \
        title word(acts, a)." compressed (ternary)", \
     for [a=1:na] dir."/acc.dat" index (a-1) using 3:4:(sprintf("eps %.2g", $5)) with labels offset 0,1 \
        tc rgb colours[(a-1)%8+1] notitle
