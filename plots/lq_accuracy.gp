# Test accuracy of a dump's network pruned WITHOUT retraining against the percentage of its
# weights kept, one measured curve per pruning method (lrlab plot, experiment lq, part prune).
# lrlab plot sets: dir, out, fmt, title, names, n, n2.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - test accuracy, no retraining (measured)"
set xlabel "weights kept (% of the pruned layers' weights, log scale)"
set ylabel "test accuracy"
set logscale x
set xrange [:100]
set yrange [0:1]
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key outside right top
array colours[12] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888", "#a6cee3", "#fb9a99", "#b2df8a", "#000000"]
plot for [v=1:n] dir."/accuracy.dat" index (v-1) using 1:2 with linespoints lw 2 pt 7 ps 0.7 \
        lc rgb colours[(v-1)%12+1] title word(names, v)
