# Error against a swept key, log-log, for one target rank: measured medians with 10-90%
# bars (solid, points), the bounds (dashed: always; dash-dot: with probability), the RMS
# prediction (dotted) and the theory's reference slope (grey), every curve in its
# compressor's colour; with several values of the other swept keys (groups) each group
# has its own point type, and the legend names compressors and groups once each.
# With plot.y = tightness the curves are each bound's median error / bound (line at 1).
# lrlab plot sets: dir, out, fmt, xlab, ylab, title, subtitle, n* (curve counts) and, per
# curve, c* (colours) and pmeas (point types); logx (1: log x axis), xfmt (tick format),
# xtl (tics at the swept values, or empty); nlegc, clegc, legcI (compressor legend
# entries), nlegg, plegg, leggI (group legend entries), yone (1: draw y = 1); and the
# style's variables (style.gp).
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.3
load plotsdir."/style.gp"
if (!exists("logx")) logx = 1
if (!exists("xfmt")) xfmt = "1e%L"
if (!exists("nlegc")) nlegc = 0
if (!exists("nlegg")) nlegg = 0
if (!exists("yone")) yone = 0
# An empty loop's title is evaluated too.
if (!exists("legc1")) legc1 = ""
if (!exists("legg1")) legg1 = ""
if (!exists("clegc")) clegc = "#000000"
if (!exists("plegg")) plegg = "1"
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
plot \
  for [i=1:(nmeas > 0 ? nmeas : 1)] dir."/measured.dat" index (i-1) using 1:2:3:4 with yerrorlines lw lw_meas pt int(word(pmeas,i)) ps ps_meas lc rgb word(cmeas,i) title columnheader(1), \
  for [i=1:(ndet > 0 ? ndet : 1)]  dir."/det.dat"  index (i-1) using 1:2 with lines dt dt_always lw lw_bound lc rgb word(cdet,i) title columnheader(1), \
  for [i=1:(nprob > 0 ? nprob : 1)] dir."/prob.dat" index (i-1) using 1:2 with lines dt dt_prob lw lw_bound lc rgb word(cprob,i) title columnheader(1), \
  for [i=1:(npred > 0 ? npred : 1)] dir."/pred.dat" index (i-1) using 1:2 with lines dt dt_pred lw 1.8 lc rgb word(cpred,i) title columnheader(1), \
  for [i=1:(nref > 0 ? nref : 1)]  dir."/ref.dat"  index (i-1) using 1:2 with lines lw 1 lc rgb "#888888" title columnheader(1), \
  for [i=1:nlegc] keyentry with lines lw 2.5 lc rgb word(clegc,i) title value(sprintf("legc%d", i)), \
  for [i=1:nlegg] keyentry with points pt int(word(plegg,i)) ps 0.8 lc rgb "black" title value(sprintf("legg%d", i)), \
  (yone ? 1 : 1/0) with lines lw 1 lc rgb "black" title (yone ? "error = bound" : "")
