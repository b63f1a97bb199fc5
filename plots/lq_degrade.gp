# Pruned random one-hidden-layer networks: the largest measured output change over the test
# points against the degradation bound lq_degrade, one point per trial and activation, with
# the line y = x (points below it: the bound held) (lrlab plot, experiment lq, part network).
# lrlab plot sets: dir, out, fmt, title, names, n, n2.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - output change after pruning against the bound"
set xlabel "bound B sum_j |a_j| ||w_j||_q k_j^(1-1/q) (units of f, log scale)"
set ylabel "max_x |f(x) - f^(x)|, measured (units of f, log scale)"
set logscale xy
set format y "1e%L"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key top left
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/degrade.dat" index (v-1) using 1:2 with points pt 7 ps 0.6 \
        lc rgb colours[(v-1)%8+1] title "measured, ".word(names, v), \
     dir."/degrade.dat" index 0 using 1:3 with points pt 6 ps 0.6 \
        lc rgb colours[5] title "first step B sum_j |a_j| ||w_j - w^_j||_1 (the same for every sigma)", \
     x with lines lw 1.5 lc rgb "#000000" title "y = bound"
