# The allocation at one budget (lrlab plot, experiment alds): per layer, the channel groups
# k (top) and the rank per group j (bottom) each variant chose (0: the layer stays dense).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, vars, ccomp (their colours), nv, nl, midbudget.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 4.2
load plotsdir."/style.gp"
set multiplot layout 2,1 title title."\n".sprintf("allocation at budget %g", midbudget) font tfont
unset title
set grid ytics lw 0.5 lc rgb "#dddddd"
set xrange [0.5:nl+0.5]
set xtics 1
set xlabel "layer (forward order)"
set ylabel "channel groups k"
set logscale y 2
plot for [v=1:nv] dir."/alloc.dat" index (v-1) using ($1 + 0.08*(v - (nv+1)/2.0)):2 with points pt 7 ps 1.2 \
        lc rgb word(ccomp,v) title word(vars, v)
unset logscale y
# One legend, under the first panel's plot: the second panel's colours are the same.
unset key
set ylabel "rank per group j (0: dense)"
plot for [v=1:nv] dir."/alloc.dat" index (v-1) using ($1 + 0.08*(v - (nv+1)/2.0)):3 with points pt 7 ps 1.2 \
        lc rgb word(ccomp,v) title word(vars, v)
unset multiplot
