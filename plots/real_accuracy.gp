# Test accuracy of the sequentially compressed network (ZS25) against its parameter ratio
# (lrlab plot, experiment real_layers): one measured curve per compressor, and the dense
# network's accuracy (grey).
# lrlab plot sets: dir, out, fmt, title, ncomp, comps, dense.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - test accuracy after sequential compression (measured)"
set xlabel "parameters kept / dense parameters (whole network)"
set ylabel "test accuracy"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key bottom right
set xrange [0:*]
set yrange [0:1]
array colours[6] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c"]
plot for [c=1:ncomp] dir."/acc.dat" index (c-1) using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb colours[(c-1)%6+1] title word(comps,c), \
     (dense > 0 ? dense : 1/0) with lines lw 2 dt 2 lc rgb "#888888" title sprintf("dense network (%.4f)", dense)
