# Histograms of the eigenvalues of the exact CK, its equivalent kernel K~ (matched identity)
# and the compressed network's exact CK plus the identity shift, at the last sweep point,
# trial 0, for the first activation (lrlab plot, experiment ntk).  Log y: the bulk and the
# few isolated eigenvalues (the class structure) on one plot.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, acts, na, act1.
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.0
load plotsdir."/style.gp"
set title title."\neigenvalues, ".act1
set xlabel "eigenvalue"
set ylabel "count per bin"
set logscale y
set yrange [0.8:*]
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
stats dir."/eig.dat" index 0 using 1 nooutput
lo = STATS_min
hi = STATS_max
nb = 60
bw = (hi - lo) / nb
bw = bw > 0 ? bw : 1
bin(x) = lo + bw * (floor((x - lo) / bw) + 0.5)
set boxwidth bw
# Boxes, not steps: a step line would join the isolated eigenvalues across the empty bins.
set style fill transparent solid 0.3 border
plot dir."/eig.dat" index 0 using (bin($1)):(1.0) smooth frequency with boxes lc rgb "#1b62a5" title "K_CK (exact)", \
     dir."/eig.dat" index 1 using (bin($1)):(1.0) smooth frequency with boxes lc rgb "#d1495b" title "K~_CK (equivalent)", \
     dir."/eig.dat" index 2 using (bin($1)):(1.0) smooth frequency with boxes lc rgb "#2a9d55" title "compressed CK + shift (exact)"
