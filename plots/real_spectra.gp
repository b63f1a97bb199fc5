# Singular spectra of a real network's layers (lrlab plot, experiment real_layers): per
# layer, sigma_i / sigma_1 of W (with the bias row), of the calibration inputs X (with the
# ones column) and of X W, against the index i, log scale.  All measured.  Panels of 2.3in,
# at most 3 a row; one legend, in the first.
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, nl,
# rows, cols, layers (one word per layer).
if (!exists("dpw")) dpw = 2.3 * cols
if (!exists("dph")) dph = 2.1 * rows + 0.3
load plotsdir."/style.gp"
set multiplot layout rows,cols title title." - singular values (measured), relative to the largest" font tfont
set logscale y
set format y "1e%L"
set key default
set key inside bottom left vertical Left reverse opaque samplen 2 spacing 0.9 font sfont
set xlabel "index i"
set yrange [1e-9:1.5]
do for [l=1:nl] {
    set title "layer ".word(layers,l) font sfont
    if ((l - 1) % cols == 0) { set ylabel "σ_i / σ_1" } else { unset ylabel }
    if (l > 1) { unset key }
    # Indices up to 512 on a linear axis crowd the tics: a log axis (tics x4) when they span 16x.
    stats dir.sprintf("/spec_%d.dat", l) using 1:2 nooutput
    if (STATS_min_x > 0 && STATS_max_x / STATS_min_x >= 16) { set logscale x 2; set xtics 4; set format x "%g" } else { unset logscale x; set xtics autofreq; set format x "%g" }
    plot dir.sprintf("/spec_%d.dat", l) index 0 using 1:2 with lines lw 2 lc rgb "#1b62a5" title "W", \
         ''                            index 1 using 1:2 with lines lw 2 lc rgb "#2a9d55" title "X", \
         ''                            index 2 using 1:2 with lines lw 2 lc rgb "#d1495b" title "X W"
}
unset multiplot
