# Layer error against rank on a real network's layers (lrlab plot, experiment real_layers):
# per layer, ||X M - X W||_F / ||X W||_F for each compressor (measured, solid with points,
# in its colour), the optimum tau_k(X W) / ||X W|| over all rank-k M (grey, measured
# spectrum) and the Theorem 2(a) bound for dd_rank with the noise-level estimate (dashed, a
# bound, in dd_rank's colour).  Panels of 2.3in, at most 3 a row; one legend, in the first
# empty panel (lrlab leaves one).
# lrlab plot sets (besides the style's variables, plots/style.gp): dir, out, fmt, title, nl,
# rows, cols, ncomp, comps, ccomp (their colours), layers.
if (!exists("dpw")) dpw = 2.3 * cols
# The legend goes in the first empty panel (lrlab leaves one: rows holds nl + 1 panels),
# else (rows set by hand) in the first panel.
legslot = nl < rows * cols
if (!exists("dph")) dph = 2.1 * rows + 0.3
load plotsdir."/style.gp"
# One colour per compressor (ccomp, from lr_gp_compressor_colour); the bound in dd_rank's.
idd = 0
do for [c=1:ncomp] { if (word(comps, c) eq "dd_rank") { idd = c } }
cdd = idd > 0 ? word(ccomp, idd) : "#000000"
set multiplot layout rows,cols title title." - relative layer error against rank (calibration data)" font tfont
set logscale y
set format y "1e%L"
set xlabel "rank k"
set yrange [1e-5:2]
set key default
set key inside bottom left vertical Left reverse opaque samplen 2 spacing 0.9 font sfont
do for [l=1:nl] {
    set title "layer ".word(layers,l) font sfont
    if ((l - 1) % cols == 0) { set ylabel "‖XM − XW‖_F / ‖XW‖_F" } else { unset ylabel }
    # Ranks up to 128 on a linear axis crowd the tics: a log axis (tics x4) when they span 16x.
    # (x and y: stats of one column would drop the values outside the y range.)
    stats dir.sprintf("/err_%d.dat", l) using 1:2 nooutput
    if (STATS_min_x > 0 && STATS_max_x / STATS_min_x >= 16) { set logscale x 2; set xtics 4; set format x "%g" } else { unset logscale x; set xtics autofreq; set format x "%g" }
    if (l > 1 || legslot) { unset key }
    plot for [c=1:ncomp] dir.sprintf("/err_%d.dat", l) index (c-1) using 1:2 with linespoints lw lw_meas pt 7 ps 0.4 lc rgb word(ccomp,c) title word(comps,c), \
         dir.sprintf("/err_%d.dat", l) index ncomp using 1:2 with lines lw 3 lc rgb "#aaaaaa" title "optimum τ_k(XW)", \
         dir.sprintf("/err_%d.dat", l) index (ncomp+1) using 1:2 with lines dt dt_always lw lw_bound lc rgb cdd title "Thm 2(a) bound, σ̂"
}
if (legslot) {
    unset border; unset tics; unset xlabel; unset ylabel; unset title; unset logscale; unset grid
    set xrange [0:1]; set yrange [0:1]
    set key default
    set key inside left center vertical Left reverse samplen 2.5 spacing 1.1 font sfont
    # (A curve outside the empty frame first: gnuplot needs one that is not a keyentry.)
    plot 2 with lines lc rgb "#ffffff" notitle, \
         for [c=1:ncomp] keyentry with linespoints lw lw_meas pt 7 ps 0.4 lc rgb word(ccomp,c) title word(comps,c)." (measured)", \
         keyentry with lines lw 3 lc rgb "#aaaaaa" title "optimum τ_k(XW)", \
         keyentry with lines dt dt_always lw lw_bound lc rgb cdd title "Thm 2(a) bound, σ̂ (dd_rank)"
}
unset multiplot
