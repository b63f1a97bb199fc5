# Coverage of each bound as its shortfall from the nominal level: nominal - (fraction of
# trials in which the bound held), with the Wilson 95% interval of that fraction as bars.
# 0 (black line): the bound held as often as the theory promises; above 0: less often.
# Colour: the bound's compressor; point type: the bound; the points of one x are spread a
# little sideways by target rank and group, in the order the title's last lines (subtitle2, subtitle3) give.
# lrlab plot sets: dir, out, fmt, xlab, title, subtitle, ncov, ylo, yhi, ccov, pcov
# (colours and point types per curve), nlegb, plegb, legbI (bounds), nlegc, clegc, legcI
# (compressors), subtitle2 and subtitle3, logx, xfmt and xtl (x axis, as in error.gp), and the style's
# variables (style.gp).
if (!exists("dpw")) dpw = 3.5
if (!exists("dph")) dph = 3.3
load plotsdir."/style.gp"
if (!exists("logx")) logx = 1
if (!exists("xfmt")) xfmt = "1e%L"
# An empty loop's title is evaluated too.
if (!exists("legb1")) legb1 = ""
if (!exists("legc1")) legc1 = ""
if (!exists("plegb")) plegb = "1"
if (!exists("clegc")) clegc = "#000000"
if (!exists("nlegb")) nlegb = 0
if (!exists("nlegc")) nlegc = 0
if (logx) { if (xfmt eq "%g") { set logscale x 2 } else { set logscale x } }
set format x xfmt
# Tics at the swept values (xtl: "1 2 4 8"), labelled as given.
if (exists("xtl") && xtl ne "") {
    s = "("
    do for [i=1:words(xtl)] { s = s.(i > 1 ? ", " : "").'"'.word(xtl, i).'" '.word(xtl, i) }
    eval "set xtics ".s.")"
}
set autoscale xfixmin
set autoscale xfixmax
set offsets graph 0.06, graph 0.06, 0, 0
set xlabel xlab
set ylabel "shortfall: nominal − coverage"
set yrange [ylo:yhi]
plot \
  for [i=1:(ncov > 0 ? ncov : 1)] dir."/coverage.dat" index (i-1) using 1:2:3:4 with yerrorlines lw 1.2 pt int(word(pcov,i)) ps 0.8 lc rgb word(ccov,i) notitle, \
  0 with lines lw 1.2 lc rgb "black" title "0: held as promised", \
  keyentry with yerrorbars lw 1.2 pt 7 ps 0.6 lc rgb "black" title "Wilson 95% interval", \
  for [i=1:nlegc] keyentry with lines lw 2.5 lc rgb word(clegc,i) title value(sprintf("legc%d", i)), \
  for [i=1:nlegb] keyentry with points pt int(word(plegb,i)) ps 0.8 lc rgb "black" title value(sprintf("legb%d", i))
