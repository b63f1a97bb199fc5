# The largest true error over the layers, ||W^ - W||_2 / ||W||_2 (measured, power iteration),
# against the kept ratio of the whole network's parameters, one curve per allocation
# variant (lrlab plot, experiment alds); dashed: alds_proxy's own objective, the lower bound
# the authors' code minimises, which is not the error it achieves.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, vars, ccomp (their colours), nv, nl, midbudget.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 4.3
load plotsdir."/style.gp"
set title title."\nlargest relative error over the layers"
set xlabel "parameters kept / dense (whole network)"
set ylabel "max over layers ‖Ŵ − W‖_2 / ‖W‖_2"
set logscale y
set format y "10^{%T}"
set format y "%.0e"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
iproxy = 0
do for [v=1:nv] { if (word(vars, v) eq "alds_proxy") { iproxy = v } }
plot for [v=1:nv] dir."/net.dat" index (v-1) using 1:($2 > 0 ? $2 : 1/0) with linespoints lw lw_meas pt 7 ps ps_meas \
        lc rgb word(ccomp,v) title word(vars, v), \
     (iproxy > 0 ? dir."/net.dat" : 1/0) index (iproxy > 0 ? iproxy-1 : 0) using 1:($3 > 0 ? $3 : 1/0) \
        with lines lw lw_bound dt dt_always lc rgb word(ccomp,iproxy > 0 ? iproxy : 1) title "alds_proxy objective (lower bound)"
