# Layer error against rank on a real network's layers (lrlab plot, experiment real_layers):
# per layer, ||X M - X W||_F / ||X W||_F for each compressor (measured, solid with points),
# the optimum tau_k(X W) / ||X W|| over all rank-k M (grey, measured spectrum) and the
# Theorem 2(a) bound for dd_rank with the noise-level estimate (dashed, a bound).
# lrlab plot sets: dir, out, fmt, title, nl, rows, cols, ncomp, comps, layers.
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size (3.2*cols)in,(2.6*rows+0.4)in font "Sans,8"
} else {
    set terminal pngcairo noenhanced size 480*cols,390*rows+60 font "Sans,10"
}
set output out
set multiplot layout rows,cols title title." - relative layer error against rank (calibration data, X~ = X)"
set logscale y
set format y "1e%L"
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key bottom left font ",8" opaque
set xlabel "rank k"
set ylabel "‖X M − X W‖_F / ‖X W‖_F"
set yrange [1e-5:2]
array colours[6] = ["#1b62a5", "#d1495b", "#2a9d55", "#e09f3e", "#7b4fa3", "#00798c"]
do for [l=1:nl] {
    set title "layer ".word(layers,l)
    plot for [c=1:ncomp] dir.sprintf("/err_%d.dat", l) index (c-1) using 1:2 with linespoints lw 1.5 pt 7 ps 0.4 lc rgb colours[(c-1)%6+1] title word(comps,c), \
         dir.sprintf("/err_%d.dat", l) index ncomp using 1:2 with lines lw 3 lc rgb "#aaaaaa" title "optimum τ_k(XW)", \
         dir.sprintf("/err_%d.dat", l) index (ncomp+1) using 1:2 with lines dt 2 lw 1.5 lc rgb "#000000" title "Thm 2(a) bound, σ̂"
}
unset multiplot
