# Test accuracy of the compressed network against the kept ratio of its parameters, one
# measured curve per allocation variant (lrlab plot, experiment alds); grouped layers run
# as k encoders and a decoder in lrlab's forward pass.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, vars, ccomp (their colours), nv, nl, midbudget.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.3
load plotsdir."/style.gp"
set title title."\ntest accuracy (measured)"
set xlabel "parameters kept / dense (whole network)"
set ylabel "test accuracy"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set yrange [0:1]
plot for [v=1:nv] dir."/net.dat" index (v-1) using 1:4 with linespoints lw 2 pt 7 ps 0.8 \
        lc rgb word(ccomp,v) title word(vars, v)
