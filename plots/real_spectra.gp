# Singular spectra of a real network's layers (lrlab plot, experiment real_layers): per
# layer, sigma_i / sigma_1 of W (with the bias row), of the calibration inputs X (with the
# ones column) and of X W, against the index i, log scale.  All measured.
# lrlab plot sets: dir, out, fmt, title, nl, rows, cols, layers (one word per layer).
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size (3.2*cols)in,(2.6*rows+0.4)in font "Sans,8"
} else {
    set terminal pngcairo noenhanced size 480*cols,390*rows+60 font "Sans,10"
}
set output out
set multiplot layout rows,cols title title." - singular values (measured), relative to the largest"
set logscale y
set format y "1e%L"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key bottom left font ",8" opaque
set xlabel "index i"
set ylabel "σ_i / σ_1"
set yrange [1e-9:1.5]
do for [l=1:nl] {
    set title "layer ".word(layers,l)
    plot dir.sprintf("/spec_%d.dat", l) index 0 using 1:2 with lines lw 2 lc rgb "#1b62a5" title "W", \
         ''                            index 1 using 1:2 with lines lw 2 lc rgb "#2a9d55" title "X", \
         ''                            index 2 using 1:2 with lines lw 2 lc rgb "#d1495b" title "X W"
}
unset multiplot
