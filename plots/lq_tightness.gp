# Tightness (measured truncation error / bound) of the two l_q truncation bounds against the
# kept count k, the median over the vectors of each distribution or dump layer (lrlab plot,
# experiment lq, part vectors).  1 would be an attained bound; every point lies below it.
# lrlab plot sets: dir, out, fmt, title, names, n, n2.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - median tightness error / bound (measured / bound)"
set xlabel "entries kept k (log scale)"
set ylabel "||w - w_[k]|| / bound (log scale)"
set logscale xy
set format y "1e%L"
set grid xtics ytics mxtics mytics lw 0.5 lc rgb "#dddddd"
set key outside right top
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/tightness.dat" index (v-1) using 1:2 with linespoints lw 2 pt 7 ps 0.7 \
        lc rgb colours[(v-1)%8+1] title word(names, v)." l1: err_l1 / lq_l1", \
     for [v=1:n] dir."/tightness.dat" index (v-1) using 1:3 with linespoints lw 2 dt 2 pt 6 ps 0.7 \
        lc rgb colours[(v-1)%8+1] title word(names, v)." l2: err_l2 / lq_l2"
