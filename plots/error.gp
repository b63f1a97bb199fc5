# Error against a swept key, log-log, for one target rank: measured medians with
# 10-90% bars (dd_rank filled, svd_w open symbols), the bounds (dashed: always;
# dash-dot: with probability), the RMS prediction (dotted) and the theory's reference
# slope (grey).  One colour per value of the other swept keys.
# lrlab plot sets: dir, out, fmt, xlab, ylab, title, n* (curve counts) and, per curve,
# c* (colours) and pmeas (point types); logx (1: log x axis), xfmt (tick format) and
# xtl (tics at the swept values, or empty).
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 8in,4.8in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1500,900 font "Sans,12"
}
set output out
set title title
if (!exists("logx")) logx = 1
if (!exists("xfmt")) xfmt = "1e%L"
set logscale y
if (logx) { if (xfmt eq "%g") { set logscale x 2 } else { set logscale x } }
set format x xfmt
# Tics at the swept values (xtl: "1 2 4 8"), labelled as given.
if (exists("xtl") && xtl ne "") {
    s = "("
    do for [i=1:words(xtl)] { s = s.(i > 1 ? ", " : "").'"'.word(xtl, i).'" '.word(xtl, i) }
    eval "set xtics ".s.")"
}
set format y "1e%L"
set autoscale xfixmin
set autoscale xfixmax
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel xlab
set ylabel ylab
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key outside right top spacing 1.15 font ",9"
set bars 0.5
plot \
  for [i=1:nmeas] dir."/measured.dat" index (i-1) using 1:2:3:4 with yerrorlines lw 1.6 pt int(word(pmeas,i)) ps 0.8 lc rgb word(cmeas,i) title columnheader(1), \
  for [i=1:ndet]  dir."/det.dat"  index (i-1) using 1:2 with lines dt 2 lw 1.4 lc rgb word(cdet,i) title columnheader(1), \
  for [i=1:nprob] dir."/prob.dat" index (i-1) using 1:2 with lines dt 4 lw 1.4 lc rgb word(cprob,i) title columnheader(1), \
  for [i=1:npred] dir."/pred.dat" index (i-1) using 1:2 with lines dt 3 lw 2.2 lc rgb word(cpred,i) title columnheader(1), \
  for [i=1:nref]  dir."/ref.dat"  index (i-1) using 1:2 with lines lw 1.2 lc rgb "#888888" title columnheader(1)
