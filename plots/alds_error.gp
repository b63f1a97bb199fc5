# The largest true error over the layers, ||W^ - W||_2 / ||W||_2 (measured, power iteration),
# against the kept ratio of the whole network's parameters, one curve per allocation
# variant (lrlab plot, experiment alds); dashed: alds_proxy's own objective, the lower bound
# the authors' code minimises, which is not the error it achieves.
# lrlab plot sets: dir, out, fmt, title, vars, nv, nl, midbudget.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - largest relative operator-norm error over the layers"
set xlabel "parameters kept / dense parameters (whole network)"
set ylabel "max over layers of ||W^ - W||_2 / ||W||_2 (measured)"
set logscale y
set format y "10^{%T}"
set format y "%.0e"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key bottom left
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
iproxy = 0
do for [v=1:nv] { if (word(vars, v) eq "alds_proxy") { iproxy = v } }
plot for [v=1:nv] dir."/net.dat" index (v-1) using 1:($2 > 0 ? $2 : 1/0) with linespoints lw 2 pt 7 ps 0.8 \
        lc rgb colours[(v-1)%8+1] title word(vars, v)." (measured)", \
     (iproxy > 0 ? dir."/net.dat" : 1/0) index (iproxy > 0 ? iproxy-1 : 0) using 1:($3 > 0 ? $3 : 1/0) \
        with lines lw 2 dt 2 lc rgb colours[(iproxy-1)%8+1] title "alds_proxy: its objective (lower bound)"
