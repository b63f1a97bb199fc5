# Coverage of each bound against a swept key: the fraction of trials in which it held,
# with its Wilson 95% interval (points), next to the nominal level the theory promises
# (black lines).  lrlab plot sets: dir, out, fmt, xlab, title, ncov, nnom, ylo, ccov,
# pcov (colours and point types per curve), logx, xfmt and xtl (x axis, as in error.gp).
if (fmt eq "pdf") {
    set terminal pdfcairo noenhanced size 8in,4.8in font "Sans,10"
} else {
    set terminal pngcairo noenhanced size 1500,900 font "Sans,12"
}
set output out
set title title
if (!exists("logx")) logx = 1
if (!exists("xfmt")) xfmt = "1e%L"
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
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel xlab
set ylabel "coverage: fraction of trials in which the bound held"
set yrange [ylo:1.03]
set grid xtics ytics lw 0.5 lc rgb "#dddddd"
set key outside right top spacing 1.15 font ",9"
set bars 0.5
plot \
  for [i=1:ncov] dir."/coverage.dat" index (i-1) using 1:2:3:4 with yerrorlines lw 1.2 pt int(word(pcov,i)) ps 0.9 lc rgb word(ccov,i) title columnheader(1), \
  for [i=1:nnom] dir."/nominal.dat" index (i-1) using 1:2 with lines dashtype i+1 lw 1.6 lc rgb "black" title columnheader(1)
