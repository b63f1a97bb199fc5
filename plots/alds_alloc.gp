# The allocation at one budget (lrlab plot, experiment alds): per layer, the channel groups
# k (top) and the rank per group j (bottom) each variant chose (0: the layer stays dense).
# lrlab plot sets: dir, out, fmt, title, vars, nv, nl, midbudget.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,5.5in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,1000 font "Sans,12"
}
set output out
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
set multiplot layout 2,1 title title.sprintf(" - allocation at budget %g", midbudget)
set grid ytics lw 0.5 lc rgb "#dddddd"
set xrange [0.5:nl+0.5]
set xtics 1
set key outside right
set xlabel "layer (forward order)"
set ylabel "channel groups k"
set logscale y 2
plot for [v=1:nv] dir."/alloc.dat" index (v-1) using ($1 + 0.08*(v - (nv+1)/2.0)):2 with points pt 7 ps 1.2 \
        lc rgb colours[(v-1)%8+1] title word(vars, v)
unset logscale y
set ylabel "rank per group j (0: dense)"
plot for [v=1:nv] dir."/alloc.dat" index (v-1) using ($1 + 0.08*(v - (nv+1)/2.0)):3 with points pt 7 ps 1.2 \
        lc rgb colours[(v-1)%8+1] title word(vars, v)
unset multiplot
