# The mean l_q sparsity index of each layer's neurons (over their surviving weights) across
# the rounds of the adaptive rule, no retraining (lrlab plot, experiment lq, part prune).
# lrlab plot sets: dir, out, fmt, title, names, n, n2.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - SI_q per layer across the adaptive rule's rounds (measured)"
set xlabel "round r (0: dense)"
set ylabel "mean SI_q of the neurons' survivors (1: equal magnitudes)"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key top right
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:n] dir."/si.dat" index (v-1) using 1:2 with linespoints lw 2 pt 7 ps 0.7 \
        lc rgb colours[(v-1)%8+1] title "layer ".word(names, v)
