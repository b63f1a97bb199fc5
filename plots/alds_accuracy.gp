# Test accuracy of the compressed network against the kept ratio of its parameters, one
# measured curve per allocation variant (lrlab plot, experiment alds); grouped layers run
# as k encoders and a decoder in lrlab's forward pass.
# lrlab plot sets: dir, out, fmt, title, vars, nv, nl, midbudget.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 6in,4.2in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1100,760 font "Sans,12"
}
set output out
set title title." - test accuracy (measured)"
set xlabel "parameters kept / dense parameters (whole network)"
set ylabel "test accuracy"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key bottom right
set yrange [0:1]
array colours[8] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c", "#6b4e16", "#888888"]
plot for [v=1:nv] dir."/net.dat" index (v-1) using 1:4 with linespoints lw 2 pt 7 ps 0.8 \
        lc rgb colours[(v-1)%8+1] title word(vars, v)
